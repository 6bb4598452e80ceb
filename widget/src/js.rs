//! Small helpers for the loader's options (a plain JavaScript object) and
//! for `protocol`'s types crossing into JavaScript.
//!
//! Everything that crosses the wire goes through serde-wasm-bindgen into and
//! out of `JsValue`s, and the browser's own `JSON` turns those into text and
//! back: the wasm never carries a JSON parser or writer of its own.

use js_sys::{Object, Reflect};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// `object[key]`, or `undefined` when `object` has no such property or is not an object.
pub(crate) fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key]` as a non-empty string; numbers are written out as JavaScript does.
pub(crate) fn string(object: &JsValue, key: &str) -> Option<String> {
    as_string(&get(object, key))
}

/// A non-empty string or number as a string.
pub(crate) fn as_string(value: &JsValue) -> Option<String> {
    let text = if value.as_f64().is_some() {
        js_sys::JSON::stringify(value)
            .ok()
            .and_then(|s| s.as_string())
    } else {
        value.as_string()
    };
    text.filter(|s| !s.is_empty())
}

/// Sets `object[key] = value` (ignoring the impossible failure on a plain object).
pub(crate) fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// A `protocol` value as a plain JavaScript value (objects, not `Map`s), as
/// `JSON.stringify` writes it.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A `protocol` value as JSON text.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    js_sys::JSON::stringify(&to_js(value))
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// A `protocol` value from a JavaScript value (`JSON.parse`'s, `response.json()`'s);
/// `None` when it does not have the type's shape.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(value).ok()
}
