//! The order of the wasm's functions, chosen for brotli.
//!
//! rustc and wasm-opt leave the functions in an order that says nothing of
//! their likeness, and brotli finds repeats only within its window and best
//! when they are close. Leptos's views bring many copies of one generic
//! function, with bodies that differ in a few bytes; put side by side, they
//! compress better. Sorting by name (wasm-opt's
//! `--reorder-functions-by-name`) groups each generic's copies: 0.6 KB.
//! Sorting by the code itself also groups unrelated functions that compile
//! to alike bytes (the same locals, the same first instructions): 0.7 KB
//! more (README, "Widget size"). wasm-opt can only sort by name, so each
//! function is first named by its code.

use std::path::Path;

use anyhow::{Context, Result};
use wasmparser::{CustomSectionReader, KnownCustom, Name, Parser, Payload, TypeRef};

/// Writes `from` with its name section replaced by one that names each
/// defined function by its body's bytes in hex (then its index, so that
/// every name is unique), for `wasm-opt --reorder-functions-by-name` to put
/// them in the order of their code; imports keep their names. The names
/// are sort keys only: the shipped wasm has no name section.
pub(crate) fn name_functions_by_code(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let named = named_by_code(&bytes).with_context(|| format!("reading {}", from.display()))?;
    std::fs::write(to, named).with_context(|| format!("writing {}", to.display()))
}

/// [`name_functions_by_code`] on the module's bytes.
fn named_by_code(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut imported = 0u32;
    let mut bodies: Vec<&[u8]> = Vec::new();
    let mut import_names = std::collections::BTreeMap::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::CustomSection(section) => import_names.extend(function_names(&section)?),
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(&bytes[body.range()]),
            _ => {}
        }
    }
    anyhow::ensure!(!bodies.is_empty(), "the module has no code");

    // Imports keep their names: wasm-opt orders them by name too, and in
    // the order of their Rust names (grouped by web-sys type) the module
    // compresses 0.2 KB smaller than with them unnamed.
    import_names.retain(|&index, _| index < imported);
    let mut names = Vec::new();
    write_leb(
        &mut names,
        u32::try_from(import_names.len() + bodies.len())?,
    );
    for (&index, name) in &import_names {
        write_leb(&mut names, index);
        write_leb(&mut names, u32::try_from(name.len())?);
        names.extend_from_slice(name.as_bytes());
    }
    for (index, body) in (imported..).zip(&bodies) {
        let mut key: String = body.iter().map(|b| format!("{b:02x}")).collect();
        key.push_str(&format!("_{index:06}"));
        write_leb(&mut names, index);
        write_leb(&mut names, u32::try_from(key.len())?);
        names.extend_from_slice(key.as_bytes());
    }
    let mut section = Vec::new();
    write_leb(&mut section, 4);
    section.extend_from_slice(b"name");
    section.push(1); // the function names' subsection
    write_leb(&mut section, u32::try_from(names.len())?);
    section.extend_from_slice(&names);

    let mut out = bytes[..8].to_vec();
    for Section { id, whole, content } in sections(bytes)? {
        if id == 0 && custom_name(content)? == b"name" {
            continue;
        }
        out.extend_from_slice(whole);
    }
    out.push(0);
    write_leb(&mut out, u32::try_from(section.len())?);
    out.extend_from_slice(&section);
    Ok(out)
}

/// The function names of a `name` custom section (none for another).
pub(crate) fn function_names<'a>(section: &CustomSectionReader<'a>) -> Result<Vec<(u32, &'a str)>> {
    let mut names = Vec::new();
    if let KnownCustom::Name(reader) = section.as_known() {
        for name in reader {
            if let Name::Function(map) = name? {
                for naming in map {
                    let naming = naming?;
                    names.push((naming.index, naming.name));
                }
            }
        }
    }
    Ok(names)
}

/// A section of a module.
struct Section<'a> {
    id: u8,
    /// The section with its id and size.
    whole: &'a [u8],
    content: &'a [u8],
}

/// The module's sections after its 8-byte header.
fn sections(bytes: &[u8]) -> Result<Vec<Section<'_>>> {
    let mut sections = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        let mut pos = at + 1;
        let size = read_leb(bytes, &mut pos)? as usize;
        let end = pos.checked_add(size).filter(|&end| end <= bytes.len());
        let end = end.context("a section runs past the end of the module")?;
        sections.push(Section {
            id,
            whole: &bytes[at..end],
            content: &bytes[pos..end],
        });
        at = end;
    }
    Ok(sections)
}

/// A custom section's name.
fn custom_name(content: &[u8]) -> Result<&[u8]> {
    let mut pos = 0;
    let length = read_leb(content, &mut pos)? as usize;
    content
        .get(pos..pos + length)
        .context("a custom section's name runs past its end")
}

fn read_leb(bytes: &[u8], pos: &mut usize) -> Result<u32> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos).context("a number runs past the end")?;
        *pos += 1;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    anyhow::bail!("a number longer than 5 bytes")
}

fn write_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use wasmparser::{Parser, Payload};

    /// A module with one imported function (`() -> ()`, named `imp`) and
    /// two defined ones (`() -> i32`), `second` returning 2 and `first`
    /// returning 1, named so in its name section.
    const MODULE: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
        0x01, 0x08, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f, // types
        0x02, 0x07, 0x01, 0x01, b'm', 0x01, b'f', 0x00, 0x00, // import m.f
        0x03, 0x03, 0x02, 0x01, 0x01, // two functions of type 1
        0x0a, 0x0b, 0x02, 0x04, 0x00, 0x41, 0x02, 0x0b, 0x04, 0x00, 0x41, 0x01, 0x0b, // code
        0x00, 0x1c, 0x04, b'n', b'a', b'm', b'e', 0x01, 0x15,
        0x03, // names: 0 imp, 1 second, 2 first
        0x00, 0x03, b'i', b'm', b'p', 0x01, 0x06, b's', b'e', b'c', b'o', b'n', b'd', 0x02, 0x05,
        b'f', b'i', b'r', b's', b't',
    ];

    #[test]
    fn each_function_is_named_by_its_code_and_nothing_else_changes() -> anyhow::Result<()> {
        let after = super::named_by_code(MODULE)?;
        let mut names = Vec::new();
        let mut code = Vec::new();
        for payload in Parser::new(0).parse_all(&after) {
            match payload? {
                Payload::CustomSection(section) => names.extend(
                    super::function_names(&section)?
                        .into_iter()
                        .map(|(index, name)| (index, name.to_owned())),
                ),
                Payload::CodeSectionEntry(body) => code.push(after[body.range()].to_vec()),
                _ => {}
            }
        }
        // A body is its locals (none: 0x00) and its code (`i32.const 2`: 0x41 0x02; end: 0x0b).
        assert_eq!(
            names,
            [
                (0, "imp".to_owned()),
                (1, "0041020b_000001".to_owned()),
                (2, "0041010b_000002".to_owned())
            ]
        );
        assert_eq!(
            code,
            [vec![0x00, 0x41, 0x02, 0x0b], vec![0x00, 0x41, 0x01, 0x0b]]
        );
        // Everything but the name section is byte for byte the input's.
        let without_names = |bytes: &[u8]| -> anyhow::Result<Vec<u8>> {
            let mut out = Vec::new();
            for super::Section { id, whole, content } in super::sections(bytes)? {
                if !(id == 0 && super::custom_name(content)? == b"name") {
                    out.extend_from_slice(whole);
                }
            }
            Ok(out)
        };
        assert_eq!(without_names(MODULE)?, without_names(&after)?);
        assert!(
            super::named_by_code(&MODULE[..30]).is_err(),
            "a cut module is refused"
        );
        Ok(())
    }
}
