//! The widget's stylesheet, adopted by its shadow root.
//!
//! A constructable stylesheet (`adoptedStyleSheets`) needs no `'unsafe-inline'`
//! in the host page's CSP, unlike `<style>` elements or `style` attributes.
//! Sizes are in px: `rem` would follow the host page's root font size, which
//! reaches into shadow roots. The fixed box is an element inside the shadow
//! root, not the host, and the host's own box is reset with `!important`
//! (inside a shadow root's `:host`, `!important` beats the page's), so no page
//! rule can move, hide or restyle the widget.
//!
//! Which parts show is decided here, from the dialog's `data-state` (`form`
//! or the call's state), `data-when` (`now`, `later`) and `data-open` (`1`
//! while the company takes calls); the widget only sets those attributes.

use wasm_bindgen::prelude::*;

const CSS: &str = r#"
:host{all:initial!important;display:contents!important}
.mount{display:contents}
.cbw{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;flex-direction:column-reverse;align-items:flex-end;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;text-align:left;direction:ltr;--accent:#0b6bcb;--on-accent:#fff}
.cbw.left{right:auto;left:20px;align-items:flex-start}
.cbw:not(.ready),.launcher[aria-expanded=false]~.dialog,[hidden],[data-state=form] :is(.status,.eta),.dialog:not([data-state=failed]) .again,.dialog:not([data-state=form]) form,[data-when=now] .pick,[data-open="1"] .closed,[data-open="0"] .choice,p:empty:not([aria-live]){display:none!important}
[aria-live]:empty{position:absolute;margin:0}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
button,select{font:inherit;cursor:pointer}
button{border:0;margin:0}
.launcher{width:56px;height:56px;padding:0;border-radius:28px;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);font-size:24px}
:focus-visible{outline:2px solid #fff;box-shadow:0 0 0 5px #1d2433}
.dialog,.teaser{position:relative;box-sizing:border-box;width:340px;max-width:calc(100vw - 40px);max-height:calc(100vh - 100px);overflow:auto;background:#fff;border-radius:12px;box-shadow:0 8px 28px rgba(0,0,0,.28);padding:20px;margin-bottom:12px}
.dialog:focus,.status:focus{outline:0;box-shadow:none}
h2{margin:0 32px 12px 0;font-size:18px;line-height:1.3}
.close{position:absolute;top:12px;right:10px;background:none;font-size:22px;line-height:1;padding:4px 8px;color:#4a5468}
label,legend{display:block;margin:14px 0 6px;padding:0;font-weight:600}
form>label:first-child,legend{margin-top:0}
input,select{box-sizing:border-box;width:100%;font:inherit;font-size:16px;padding:10px 12px;border:1px solid #8a93a6;border-radius:8px;margin:0;background:#fff;color:inherit}
fieldset{border:0;margin:14px 0 0;padding:0;min-width:0}
.choice{display:inline-flex;align-items:center;gap:6px;margin:0 18px 0 0;font-weight:400}
.choice input,.consent input{width:20px;height:20px;padding:0;flex:none}
.consent{display:flex;flex-wrap:wrap;align-items:flex-start;gap:4px 8px;margin-top:14px}
.consent label{flex:1;margin:0;font-weight:400}
.consent a{color:inherit;flex-basis:100%;margin-left:28px}
[aria-invalid=true]{border-color:#b3261e;outline:1px solid #b3261e}
p{margin:8px 0 0}
.msg{margin-top:6px;color:#b3261e;font-size:13px;flex-basis:100%}
.primary,.secondary{display:block;width:100%;margin-top:14px;padding:11px;border-radius:8px;background:var(--accent);color:var(--on-accent);font-weight:600;font-size:15px}
.secondary{margin-top:8px;background:#fff;color:#1d2433;border:1px solid #8a93a6}
.status{font-size:15px;margin:0}
.eta{color:#4a5468}
[data-state=succeeded] .status{color:#1b6e2d}
[data-state=failed] .status{color:#b3261e}
.teaser{width:280px;padding:16px 40px 16px 16px}
.teaser:not(.on){display:contents}
.teaser:not(.on) button{display:none}
.teaser p{margin:0;font-size:15px;font-weight:600}
.teaser .close{top:8px;right:6px}
@media (max-width:479px){.teaser{width:auto;max-width:none;margin:0 16px 12px}.cbw,.cbw.left{left:0;right:0;bottom:0;align-items:stretch}.dialog{width:100%;max-width:none;max-height:85vh;border-radius:12px 12px 0 0;margin:0}.launcher{align-self:flex-end;margin:0 16px 16px}.cbw.left .launcher{align-self:flex-start}.launcher[aria-expanded=true]{display:none}}
@media (prefers-reduced-motion:no-preference){.launcher{transition:transform .15s}.launcher:hover{transform:scale(1.06)}.teaser.on{animation:cbw-in .25s ease-out}}
@keyframes cbw-in{from{opacity:0;transform:translateY(8px)}}
"#;

/// Gives `root` the widget's stylesheet (default colours) and returns it,
/// for [`apply`] once the site's colour is known.
pub(crate) fn adopt(root: &web_sys::ShadowRoot) -> Result<web_sys::CssStyleSheet, JsValue> {
    let sheet = web_sys::CssStyleSheet::new()?;
    sheet.replace_sync(CSS)?;
    root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));
    Ok(sheet)
}

/// Rewrites the stylesheet with `accent` as the launcher's and buttons'
/// colour when it is a valid `#rrggbb` (anything else could smuggle CSS in),
/// with white text on it when that contrasts at least 4.5:1, black otherwise.
pub(crate) fn apply(sheet: &web_sys::CssStyleSheet, accent: Option<&str>) -> Result<(), JsValue> {
    let mut css = CSS.to_owned();
    if let Some(colour) = accent.filter(|c| protocol::HexColour::parse(c).is_ok()) {
        css.push_str(".cbw{--accent:");
        css.push_str(colour);
        if !white_text_contrasts(colour) {
            css.push_str(";--on-accent:#000");
        }
        css.push('}');
    }
    sheet.replace_sync(&css)
}

/// Whether white text on `colour` (`#rrggbb`) has WCAG's 4.5:1: its relative
/// luminance is at most 0.1833 (1.05 / 4.5 − 0.05). `Math.pow` is the
/// browser's: Rust's `powf` (and `mul_add`, without a wasm instruction)
/// would add a kilobyte of wasm.
#[expect(clippy::suboptimal_flops, reason = "mul_add is a software fma in wasm")]
pub(crate) fn white_text_contrasts(colour: &str) -> bool {
    let channel = |at: usize| {
        // `get`, not a slice: no panic (and its formatting) in the wasm.
        let hex = colour.get(at..at + 2).unwrap_or_default();
        let value = f64::from(u8::from_str_radix(hex, 16).unwrap_or(0)) / 255.0;
        if value <= 0.040_45 {
            value / 12.92
        } else {
            js_sys::Math::pow((value + 0.055) / 1.055, 2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    luminance <= 1.05 / 4.5 - 0.05
}
