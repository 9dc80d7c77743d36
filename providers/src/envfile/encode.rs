//! The env file writer: picks, for each value, a form that this reader and python-dotenv read
//! back as exactly the same string, and that other readers (node dotenv, docker compose) are
//! least likely to reinterpret.

/// A key that no form of the dialect can hold: it is empty, or needs quotes and holds `'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unrepresentable;

/// What a byte asks of the written form, as bit flags, so that one pass over a value decides.
const NOT_BARE: u8 = 1;
const QUOTE: u8 = 2;
const BACKSLASH: u8 = 4;
const LINE_BREAK: u8 = 8;

const CLASSES: [u8; 256] = {
    let mut classes = [NOT_BARE; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        // Characters that every dotenv reader takes literally in a bare value.
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'_' | b'-' | b'.' | b'/' | b':' | b'@' | b'%' | b'+' | b',' | b'='
            )
        {
            classes[b] = 0;
        }
        b += 1;
    }
    classes[b'\'' as usize] |= QUOTE;
    classes[b'\\' as usize] |= BACKSLASH;
    classes[b'\n' as usize] |= LINE_BREAK;
    classes[b'\r' as usize] |= LINE_BREAK;
    classes
};

/// Appends the written form of `value` to `out`; every string has one:
/// - empty: nothing (`KEY=`);
/// - only characters every reader takes literally: bare (`KEY=abc`);
/// - no `'`, `\` or line break: single quotes, which no reader expands `$` in;
/// - otherwise double quotes, with `\\`, `\"`, `\n` and `\r` escaped (python-dotenv 1.2.4 reads
///   a backslash before the closing quote as an escaped backslash when it is doubled).
pub(crate) fn encode(value: &str, out: &mut String) {
    let class = value
        .bytes()
        .fold(0, |class, b| class | CLASSES[usize::from(b)]);
    if class == 0 {
        out.push_str(value);
    } else if class & (QUOTE | BACKSLASH | LINE_BREAK) == 0 {
        out.push('\'');
        out.push_str(value);
        out.push('\'');
    } else {
        out.reserve(value.len() + 8);
        out.push('"');
        let mut rest = value;
        while let Some(at) = rest.find(['\\', '"', '\n', '\r']) {
            out.push_str(&rest[..at]);
            out.push_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                b'\n' => "\\n",
                _ => "\\r",
            });
            rest = &rest[at + 1..];
        }
        out.push_str(rest);
        out.push('"');
    }
}

/// Whether `key` must be written in single quotes: it must when it would not read back as an
/// unquoted key (it holds `=`, `#` or a space, or starts with `'` or a BOM, which the reader
/// skips at the start of a file). A key that needs quotes but holds `'`, or an empty key, cannot
/// be written.
pub(crate) fn key_needs_quotes(key: &str) -> Result<bool, Unrepresentable> {
    let plain = if key.is_ascii() {
        !key.starts_with('\'')
            && !key
                .bytes()
                .any(|b| matches!(b, b'=' | b'#' | b' ' | b'\t'..=b'\r' | 0x1c..=0x1f))
    } else {
        let space = |c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c);
        !key.starts_with(['\'', '\u{feff}'])
            && !key.contains(|c: char| c == '=' || c == '#' || space(c))
    };
    match (key.is_empty(), plain) {
        (false, true) => Ok(false),
        (false, false) if !key.contains('\'') => Ok(true),
        _ => Err(Unrepresentable),
    }
}

/// Appends the written form of `key` (see [`key_needs_quotes`]).
pub(crate) fn encode_key(key: &str, out: &mut String) -> Result<(), Unrepresentable> {
    if key_needs_quotes(key)? {
        out.push('\'');
        out.push_str(key);
        out.push('\'');
    } else {
        out.push_str(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &str) -> String {
        let mut out = String::new();
        encode(value, &mut out);
        out
    }

    #[test]
    fn keys_are_quoted_only_when_they_must_be() {
        let key = |k: &str| {
            let mut out = String::new();
            encode_key(k, &mut out).map(|()| out)
        };
        assert_eq!(key("DATABASE_URL").unwrap(), "DATABASE_URL");
        assert_eq!(key("a\"b").unwrap(), "a\"b");
        assert_eq!(key("has space").unwrap(), "'has space'");
        assert_eq!(key("\u{feff}bom").unwrap(), "'\u{feff}bom'");
        assert_eq!(key("'quoted").unwrap_err(), Unrepresentable);
        assert_eq!(key("").unwrap_err(), Unrepresentable);
    }

    #[test]
    fn picks_the_plainest_form() {
        assert_eq!(encoded(""), "");
        assert_eq!(encoded("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(encoded("pa$$w0rd"), "'pa$$w0rd'");
        assert_eq!(encoded("a #b"), "'a #b'");
        assert_eq!(encoded("#x"), "'#x'");
        assert_eq!(encoded(" padded "), "' padded '");
        assert_eq!(encoded("it's"), "\"it's\"");
        assert_eq!(
            encoded("line\nbreak\r\"q\" \\"),
            "\"line\\nbreak\\r\\\"q\\\" \\\\\""
        );
        assert_eq!(encoded("C:\\dir\\"), "\"C:\\\\dir\\\\\"");
    }
}
