//! The widget's stylesheet, adopted by its shadow root.
//!
//! A constructable stylesheet (`adoptedStyleSheets`) needs no `'unsafe-inline'`
//! in the host page's CSP, unlike `<style>` elements or `style` attributes.
//! Sizes are in px: `rem` would follow the host page's root font size, which
//! reaches into shadow roots.

use wasm_bindgen::prelude::*;

const CSS: &str = r#"
:host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433}
.cbw{--accent:#0b6bcb;--on-accent:#fff}
button{font:inherit;cursor:pointer}
.launcher{width:56px;height:56px;border-radius:28px;border:0;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);font-size:24px;display:flex;align-items:center;justify-content:center;margin-left:auto}
.launcher:focus-visible,.primary:focus-visible,input:focus-visible,.close:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.dialog{box-sizing:border-box;width:320px;max-width:calc(100vw - 40px);background:#fff;border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.28);padding:20px;margin-bottom:12px}
.dialog h2{margin:0 0 12px;font-size:18px;line-height:1.3}
.head{display:flex;justify-content:space-between;align-items:flex-start;gap:8px}
.close{border:0;background:transparent;font-size:22px;line-height:1;padding:2px 6px;color:#4a5468}
label{display:block;margin-bottom:6px;font-weight:600}
input[type=tel]{box-sizing:border-box;width:100%;font-size:16px;padding:10px 12px;border:1px solid #8a93a6;border-radius:8px;margin:0}
input[aria-invalid=true]{border-color:#b3261e}
.error{color:#b3261e;margin:6px 0 0;font-size:13px}
.primary{width:100%;margin-top:12px;padding:11px;border:0;border-radius:8px;background:var(--accent);color:var(--on-accent);font-weight:600;font-size:15px}
.primary[disabled]{opacity:.6;cursor:default}
.status{margin:4px 0 0;font-size:15px}
.status[data-final=true][data-state=succeeded]{color:#1b6e2d}
.status[data-state=failed]{color:#b3261e}
.eta{color:#4a5468;font-size:13px}
@media (max-width:479px){:host{left:0;right:0;bottom:0}.dialog{width:100%;max-width:none;border-radius:12px 12px 0 0;margin:0}.launcher{margin:0 16px 16px auto}}
@media (prefers-reduced-motion:no-preference){.launcher{transition:transform .15s}.launcher:hover{transform:scale(1.06)}}
"#;

/// Gives `root` the widget's stylesheet.
pub(crate) fn adopt(root: &web_sys::ShadowRoot) -> Result<(), JsValue> {
    let sheet = web_sys::CssStyleSheet::new()?;
    sheet.replace_sync(CSS)?;
    root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
    Ok(())
}
