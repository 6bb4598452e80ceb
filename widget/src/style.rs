//! The widget's stylesheet, adopted by its shadow root.
//!
//! A constructable stylesheet (`adoptedStyleSheets`) needs no `'unsafe-inline'`
//! in the host page's CSP, unlike `<style>` elements or `style` attributes.
//! Sizes are in px: `rem` would follow the host page's root font size, which
//! reaches into shadow roots. The fixed box is an element inside the shadow
//! root, not the host, so no page rule can move it.

use wasm_bindgen::prelude::*;

const CSS: &str = r#"
:host{all:initial;display:contents}
.cbw{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;flex-direction:column-reverse;align-items:flex-end;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;--accent:#0b6bcb;--on-accent:#fff}
.cbw.left{right:auto;left:20px;align-items:flex-start}
.launcher[aria-expanded=false]+.dialog,[data-state=form] .status,.dialog:not([data-state=form]):not([data-state=failed]) form{display:none}
button{font:inherit;cursor:pointer;border:0}
.launcher{width:56px;height:56px;border-radius:28px;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);font-size:24px}
button:focus-visible,input:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.dialog{position:relative;box-sizing:border-box;width:320px;max-width:calc(100vw - 40px);background:#fff;border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.28);padding:20px;margin-bottom:12px}
h2{margin:0 28px 12px 0;font-size:18px;line-height:1.3}
.close{position:absolute;top:14px;right:12px;background:none;font-size:22px;line-height:1;padding:2px 6px;color:#4a5468}
label{display:block;margin-bottom:6px;font-weight:600}
input{box-sizing:border-box;width:100%;font:inherit;font-size:16px;padding:10px 12px;border:1px solid #8a93a6;border-radius:8px;margin:0}
[aria-invalid=true]{border-color:#b3261e}
[aria-invalid=true]~p{color:#b3261e}
p{margin:8px 0 0;font-size:13px}
.primary{width:100%;margin-top:12px;padding:11px;border-radius:8px;background:var(--accent);color:var(--on-accent);font-weight:600;font-size:15px}
.status{font-size:15px;margin:0 0 8px}
[data-state=succeeded] .status{color:#1b6e2d}
[data-state=failed] .status{color:#b3261e}
@media (max-width:479px){.cbw,.cbw.left{left:0;right:0;bottom:0}.dialog{width:100%;max-width:none;border-radius:12px 12px 0 0;margin:0}.launcher{margin:0 16px 16px}}
@media (prefers-reduced-motion:no-preference){.launcher{transition:transform .15s}.launcher:hover{transform:scale(1.06)}}
"#;

/// Gives `root` the widget's stylesheet, with the site's accent colour when it
/// is a valid `#rgb` or `#rrggbb` (anything else could smuggle CSS in).
pub(crate) fn adopt(root: &web_sys::ShadowRoot, accent: Option<&str>) -> Result<(), JsValue> {
    let sheet = web_sys::CssStyleSheet::new()?;
    let mut css = CSS.to_owned();
    if let Some(colour) = accent.filter(|c| is_hex_colour(c)) {
        css.push_str(".cbw{--accent:");
        css.push_str(colour);
        css.push('}');
    }
    sheet.replace_sync(&css)?;
    root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
    Ok(())
}

/// `#rgb` or `#rrggbb`.
pub(crate) fn is_hex_colour(colour: &str) -> bool {
    colour
        .strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
