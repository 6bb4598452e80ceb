//! Small helpers for reading and building plain JavaScript objects.
//!
//! The widget reads the loader's options and the proxy's JSON through these
//! instead of serde: serde's derive code and error formatting cost about
//! 24 KB brotli in the wasm, more than a third of the whole budget.

use js_sys::{Object, Reflect};
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

/// Sets `object[key]` to a string when there is one.
pub(crate) fn set_opt(object: &Object, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        set(object, key, &JsValue::from_str(value));
    }
}
