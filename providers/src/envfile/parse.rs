//! The env file reader: the dialect python-dotenv 1.2.4 reads (without interpolation), byte for
//! byte, including its corner cases. It keeps the position of every binding so that a file can
//! be updated in place.
//!
//! python-dotenv defines the dialect with regular expressions in its `parser.py`; each step below
//! names the one it follows. "Space" is what Python's `\s` matches: Unicode white space and
//! `\x1c`–`\x1f`. The rules 1.2.4 changed against 1.2.2, each followed here:
//! - a leading BOM is dropped before parsing ([`parse`]);
//! - in a quoted value a backslash always escapes the next character, whatever it is
//!   (`\\.` with DOTALL), so the first quote not escaped closes the value and a value whose
//!   every quote is escaped is unterminated: there is no backtracking ([`Reader::quoted`]);
//! - spaces after `=` followed by `#` make an empty value and a comment (`KEY= # note`), while
//!   `KEY=#x` is still the value `#x` ([`parse`], after the `=`).
//!
//! A key without `=` (`KEY`, `export KEY`) has no value, and being the last statement of its key
//! it makes the key valueless (python-dotenv maps it to `None`; `load_dotenv` sets nothing).

use std::borrow::Cow;
use std::ops::Range;

/// One `KEY=value` statement. Its value is decoded only when asked for; its `Debug` output
/// shows the key and the line, never the value.
pub(crate) struct Binding<'a> {
    pub(crate) key: &'a str,
    /// Where `key` starts in the file.
    pub(crate) key_start: usize,
    /// Whether the key was written in single quotes.
    pub(crate) quoted_key: bool,
    /// The value as written.
    pub(crate) value: Written<'a>,
    /// Where the value starts in the file; for a bare key, just past the key.
    pub(crate) value_start: usize,
    /// The 1-based line of the key.
    pub(crate) line: usize,
    /// The start of the line that holds the key.
    pub(crate) start: usize,
    /// Just past the statement's line ending.
    pub(crate) end: usize,
}

impl std::fmt::Debug for Binding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binding")
            .field("key", &self.key)
            .field("line", &self.line)
            .field("form", &self.value.form)
            .finish_non_exhaustive()
    }
}

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Unquoted.
    Bare,
    /// In single quotes.
    Single,
    /// In double quotes.
    Double,
}

/// A value as written in a file. Its `Debug` output shows the form only.
#[derive(Clone, Copy)]
pub(crate) struct Written<'a> {
    /// How the value is written; `None` for a bare key without `=`.
    pub(crate) form: Option<Form>,
    /// The value as written, quotes included; empty for an empty value and a bare key.
    pub(crate) text: &'a str,
}

impl std::fmt::Debug for Written<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Written")
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

impl<'a> Written<'a> {
    /// The value, or `None` for a bare key.
    pub(crate) fn decode(&self) -> Option<Cow<'a, str>> {
        let text = self.text;
        let inner = || &text[1..text.len() - 1];
        Some(match self.form? {
            Form::Bare => Cow::Borrowed(text),
            Form::Single => unescape(inner(), false),
            Form::Double => unescape(inner(), true),
        })
    }

    /// Whether two values are the same (or both absent); written the same way, they are without
    /// decoding.
    pub(crate) fn same(&self, other: &Written<'_>) -> bool {
        (self.form == other.form && self.text == other.text) || self.decode() == other.decode()
    }
}

/// Why a line cannot be read. Never holds the line's text, which may hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A key is expected where the statement starts.
    #[error("expected a key")]
    MissingKey,
    /// A key is followed by something other than `=`, a comment or the end of the line.
    #[error("expected `=` after the key")]
    ExpectedEquals,
    /// A single-quoted key or value has no closing quote (in a value, every quote that follows
    /// is escaped by a backslash).
    #[error("unterminated single quote")]
    UnterminatedSingleQuote,
    /// A double-quoted value has no closing quote (every quote that follows is escaped by a
    /// backslash).
    #[error("unterminated double quote")]
    UnterminatedDoubleQuote,
    /// A quoted value is followed by something other than a comment or the end of the line.
    #[error("unexpected text after the closing quote")]
    TextAfterQuote,
}

/// A parse error with its 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineError {
    pub(crate) line: usize,
    pub(crate) error: ParseError,
}

/// Python's `\s`, for one character.
const fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\x1c'..='\x1f')
}

/// Classes of ASCII bytes, as bit flags, for the parser's hot loops: a byte "keeps" a prefix
/// when its class has the bit asked for. A byte of a multi-byte character has none.
const SPACE: u8 = 1;
/// A space other than `\r` and `\n` (`[^\S\r\n]`).
const INLINE_SPACE: u8 = 2;
/// A character of an unquoted key (`[^=\#\s]`).
const KEY: u8 = 4;

const CLASSES: [u8; 256] = {
    let mut classes = [0; 256];
    let mut b = 0;
    while b < 0x80 {
        let c = b as u8 as char;
        classes[b] = if is_space(c) {
            if c == '\r' || c == '\n' {
                SPACE
            } else {
                SPACE | INLINE_SPACE
            }
        } else if c == '=' || c == '#' {
            0
        } else {
            KEY
        };
        b += 1;
    }
    classes
};

/// The length of the longest prefix of `s` whose characters all satisfy `keep`, which agrees
/// with the ASCII bytes whose class has the bit `class` (the parser's hot loop: one table
/// lookup a byte).
fn prefix_len(s: &str, class: u8, keep: impl Fn(char) -> bool) -> usize {
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if CLASSES[usize::from(b)] & class == 0 {
            if b < 0x80 {
                return i;
            }
            return i + s[i..]
                .char_indices()
                .find(|&(_, c)| !keep(c))
                .map_or(s.len() - i, |(j, _)| j);
        }
    }
    s.len()
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Moves to `to`, counting the line breaks passed.
    fn advance_to(&mut self, to: usize) {
        let passed = &self.text.as_bytes()[self.pos..to];
        self.line += match passed {
            [] => 0,
            [b'\n'] => 1,
            _ => crate::fs::count_breaks(passed),
        };
        self.pos = to;
    }

    /// Skips spaces; with `newlines` false, stops at `\r` and `\n` (`[^\S\r\n]*`).
    #[inline(always)]
    fn skip_spaces(&mut self, newlines: bool) {
        let class = if newlines { SPACE } else { INLINE_SPACE };
        // Most statements have no space to skip.
        match self.peek() {
            Some(b) if CLASSES[usize::from(b)] & class != 0 || !b.is_ascii() => {
                self.skip_some_spaces(newlines)
            }
            _ => {}
        }
    }

    fn skip_some_spaces(&mut self, newlines: bool) {
        let skipped = if newlines {
            prefix_len(self.rest(), SPACE, is_space)
        } else {
            prefix_len(self.rest(), INLINE_SPACE, |c| {
                is_space(c) && c != '\r' && c != '\n'
            })
        };
        if newlines {
            self.advance_to(self.pos + skipped);
        } else {
            self.pos += skipped;
        }
    }

    /// The end of the current line, before its line break.
    fn line_end(&self) -> usize {
        memchr::memchr2(b'\r', b'\n', self.rest().as_bytes())
            .map_or(self.text.len(), |i| self.pos + i)
    }

    /// `[^\S\r\n]*(?:\r\n|\n|\r|$)`: true when only spaces remain on the line; consumes them and
    /// the line break.
    fn end_of_line(&mut self) -> bool {
        self.skip_spaces(false);
        match self.rest().as_bytes() {
            [] => true,
            [b'\r', b'\n', ..] => {
                self.pos += 2;
                self.line += 1;
                true
            }
            [b'\r' | b'\n', ..] => {
                self.pos += 1;
                self.line += 1;
                true
            }
            _ => false,
        }
    }

    /// `(?:[^\S\r\n]*#[^\r\n]*)?`
    fn comment(&mut self) {
        let start = self.pos;
        self.skip_spaces(false);
        if self.peek() == Some(b'#') {
            self.pos = self.line_end();
        } else {
            self.pos = start;
        }
    }

    /// A quoted key or value starting at the opening `quote`, up to the first quote that
    /// closes it. A key (`'([^']+)'`) has no escapes; in a value (`'((?:\\\\.|[^'\\\\])*)'`,
    /// DOTALL) a backslash escapes the character after it, whatever it is. Returns the range
    /// between the quotes, or `None` when no quote closes it.
    fn quoted(&mut self, quote: u8, escapes: bool) -> Option<Range<usize>> {
        let bytes = self.text.as_bytes();
        let open = self.pos;
        let mut i = open + 1;
        let close = loop {
            let offset = if escapes {
                memchr::memchr2(quote, b'\\', &bytes[i..])?
            } else {
                memchr::memchr(quote, &bytes[i..])?
            };
            let at = i + offset;
            if bytes[at] == quote {
                break at;
            }
            // A backslash: the character after it (which may take several bytes, or be the
            // `\r` of `\r\n`) cannot close the value; skipping one byte is enough, since only an
            // ASCII quote or backslash can.
            i = at + 2;
            if i > bytes.len() {
                return None;
            }
        };
        self.advance_to(close + 1);
        Some(open + 1..close)
    }
}

/// Replaces the escapes of a quoted value: in single quotes `\\` and `\'`; in double quotes
/// also `\"`, `\a`, `\b`, `\f`, `\n`, `\r`, `\t` and `\v`. Other backslashes stay. Line breaks
/// inside the quotes read as `\n`, as python-dotenv sees them through Python's universal newlines.
fn unescape(raw: &str, double: bool) -> Cow<'_, str> {
    if raw.contains('\r') {
        let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
        return Cow::Owned(unescape(&normalized, double).into_owned());
    }
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut lookahead = chars.clone();
        let decoded = match lookahead.next() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') if double => Some('"'),
            Some('a') if double => Some('\x07'),
            Some('b') if double => Some('\x08'),
            Some('f') if double => Some('\x0c'),
            Some('n') if double => Some('\n'),
            Some('r') if double => Some('\r'),
            Some('t') if double => Some('\t'),
            Some('v') if double => Some('\x0b'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                out.push(d);
                chars = lookahead;
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// An unquoted value at the start of `rest`: the rest of the line, cut at the first spaces
/// followed by `#` (`re.sub(r"\s+#.*", "", part)`), then without trailing spaces (`rstrip()`).
/// Returns the length of the value and of the line, found in one pass.
fn unquoted(rest: &str) -> (usize, usize) {
    let bytes = rest.as_bytes();
    // The leftmost `#` with a space before it starts the comment; the spaces go with it.
    let stop = memchr::memchr3_iter(b'#', b'\r', b'\n', bytes)
        .find(|&at| bytes[at] != b'#' || rest[..at].ends_with(is_space))
        .unwrap_or(bytes.len());
    let line = match bytes.get(stop) {
        Some(b'#') => {
            memchr::memchr2(b'\r', b'\n', &bytes[stop..]).map_or(bytes.len(), |i| stop + i)
        }
        _ => stop,
    };
    (rest[..stop].trim_end_matches(is_space).len(), line)
}

/// Parses a whole file, or (with `file_start` false) a part of one that starts at the start of
/// a statement's line, handing each statement to `found` in order instead of keeping them. A BOM
/// is skipped at the start of a file only.
pub(crate) fn each_binding<'a>(
    text: &'a str,
    file_start: bool,
    mut found: impl FnMut(Binding<'a>),
) -> Result<(), LineError> {
    let start = if file_start && text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut r = Reader {
        text,
        pos: start,
        line: 1,
    };
    loop {
        // Each statement starts at the start of a line; blank lines before it are skipped.
        let before = r.pos;
        r.skip_spaces(true);
        if r.pos == text.len() {
            break;
        }
        let line = r.line;
        let skipped = &text.as_bytes()[before..r.pos];
        let line_start = memchr::memrchr2(b'\n', b'\r', skipped).map_or(before, |i| before + i + 1);
        let fail = |error| LineError { line, error };
        if r.peek() == Some(b'#') {
            r.pos = r.line_end();
            continue;
        }
        // `(?:export[^\S\r\n]+)?`
        if let Some(after) = r.rest().strip_prefix("export")
            && after.starts_with(|c: char| is_space(c) && c != '\r' && c != '\n')
        {
            r.pos += "export".len();
            r.skip_spaces(false);
        }
        let key_start = r.pos;
        let (key, quoted_key) = match r.peek() {
            // `export #comment`: python-dotenv reads no key and no error.
            Some(b'#') => {
                r.comment();
                if !r.end_of_line() {
                    return Err(fail(ParseError::ExpectedEquals));
                }
                continue;
            }
            // `'([^']+)'`
            Some(b'\'') => {
                let span = r
                    .quoted(b'\'', false)
                    .ok_or(fail(ParseError::UnterminatedSingleQuote))?;
                if span.is_empty() {
                    return Err(fail(ParseError::MissingKey));
                }
                (&text[span], true)
            }
            // `([^=\#\s]+)`
            _ => {
                let len = prefix_len(r.rest(), KEY, |c| c != '=' && c != '#' && !is_space(c));
                if len == 0 {
                    return Err(fail(ParseError::MissingKey));
                }
                let key = &text[r.pos..r.pos + len];
                r.pos += len;
                (key, false)
            }
        };
        let key_end = r.pos;
        r.skip_spaces(false);
        let (form, value_start, value_end) = if r.peek() == Some(b'=') {
            // `(=[^\S\r\n]*)`
            let equals = r.pos;
            r.pos += 1;
            r.skip_spaces(false);
            let at = r.pos;
            let spaced = at > equals + 1;
            match r.peek() {
                // `KEY= # note`: spaces after `=`, then `#`, is an empty value and a comment.
                Some(b'#') if spaced => {
                    r.pos = r.line_end();
                    r.end_of_line();
                    (Some(Form::Bare), at, at)
                }
                Some(q @ (b'\'' | b'"')) => {
                    let double = q == b'"';
                    let unterminated = if double {
                        ParseError::UnterminatedDoubleQuote
                    } else {
                        ParseError::UnterminatedSingleQuote
                    };
                    let inner = r.quoted(q, true).ok_or(fail(unterminated))?;
                    r.comment();
                    if !r.end_of_line() {
                        return Err(fail(ParseError::TextAfterQuote));
                    }
                    let form = if double { Form::Double } else { Form::Single };
                    (Some(form), at, inner.end + 1)
                }
                None | Some(b'\r' | b'\n') => {
                    r.end_of_line();
                    (Some(Form::Bare), at, at)
                }
                Some(_) => {
                    let (len, line) = unquoted(r.rest());
                    r.pos = at + line;
                    r.end_of_line();
                    (Some(Form::Bare), at, at + len)
                }
            }
        } else {
            r.comment();
            if !r.end_of_line() {
                return Err(fail(ParseError::ExpectedEquals));
            }
            (None, key_end, key_end)
        };
        found(Binding {
            key,
            key_start: key_start + usize::from(quoted_key),
            quoted_key,
            value: Written {
                form,
                text: &text[value_start..value_end],
            },
            value_start,
            line,
            start: line_start,
            end: r.pos,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses a whole file into its statements.
    fn parse(text: &str) -> Result<Vec<Binding<'_>>, LineError> {
        let mut bindings = Vec::new();
        each_binding(text, true, |binding| bindings.push(binding))?;
        Ok(bindings)
    }

    fn values(text: &str) -> Vec<(&str, Option<String>)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|b| (b.key, b.value.decode().map(Cow::into_owned)))
            .collect()
    }

    #[test]
    fn byte_classes_agree_with_the_rules() {
        for b in 0..=u8::MAX {
            let class = CLASSES[usize::from(b)];
            let c = char::from(b);
            let ascii = b.is_ascii();
            assert_eq!(class & SPACE != 0, ascii && is_space(c), "{b:#x}");
            let inline = is_space(c) && c != '\r' && c != '\n';
            assert_eq!(class & INLINE_SPACE != 0, ascii && inline, "{b:#x}");
            let key = c != '=' && c != '#' && !is_space(c);
            assert_eq!(class & KEY != 0, ascii && key, "{b:#x}");
        }
    }

    #[test]
    fn spans_cover_the_value_as_written() {
        let text = "A=plain # c\nexport B = 'single' #c\r\nC=\"dq\\\"\"\nD=\n";
        let doc = parse(text).unwrap();
        let spans: Vec<_> = doc.iter().map(|b| b.value.text).collect();
        assert_eq!(spans, ["plain", "'single'", "\"dq\\\"\"", ""]);
        let lines: Vec<_> = doc.iter().map(|b| &text[b.start..b.end]).collect();
        assert_eq!(
            lines,
            [
                "A=plain # c\n",
                "export B = 'single' #c\r\n",
                "C=\"dq\\\"\"\n",
                "D=\n"
            ]
        );
    }

    #[test]
    fn errors_name_the_line_of_the_statement() {
        let err = |text| parse(text).unwrap_err();
        assert_eq!(
            err("A=1\n\nB=\"open\nC=3\n"),
            LineError {
                line: 3,
                error: ParseError::UnterminatedDoubleQuote
            }
        );
        assert_eq!(
            err("A=1\r\nB='x' y\r\n"),
            LineError {
                line: 2,
                error: ParseError::TextAfterQuote
            }
        );
        assert_eq!(
            err("A=1\rB C\r"),
            LineError {
                line: 2,
                error: ParseError::ExpectedEquals
            }
        );
        assert_eq!(
            err("=1\n"),
            LineError {
                line: 1,
                error: ParseError::MissingKey
            }
        );
    }

    #[test]
    fn a_backslash_escapes_whatever_follows_it() {
        assert_eq!(values("A=\"x\\\\\"\n"), [("A", Some("x\\".into()))]);
        assert_eq!(values("A='x\\\\'\n"), [("A", Some("x\\".into()))]);
        assert_eq!(
            parse("A=\"x\\\"\nB=\"y\"\n").unwrap_err(),
            LineError {
                line: 1,
                error: ParseError::TextAfterQuote
            }
        );
        assert_eq!(
            parse("A=\"x\\\"\n").unwrap_err(),
            LineError {
                line: 1,
                error: ParseError::UnterminatedDoubleQuote
            }
        );
    }

    #[test]
    fn spaces_then_a_hash_after_the_equals_sign_are_an_empty_value() {
        let doc = parse("A= # note\nB=#x\n").unwrap();
        assert_eq!(doc[0].value.decode().unwrap(), "");
        assert_eq!(doc[0].value_start, 3);
        assert_eq!(doc[1].value.decode().unwrap(), "#x");
    }

    #[test]
    fn debug_output_shows_no_value() {
        let doc = parse("KEY=canary-31337\nOTHER='canary-31337'\n").unwrap();
        let debug = format!("{doc:?}");
        assert!(
            debug.contains("KEY") && !debug.contains("canary"),
            "{debug}"
        );
    }

    #[test]
    fn bare_keys_have_no_value() {
        assert_eq!(values("A\nB=1\n"), [("A", None), ("B", Some("1".into()))]);
        assert_eq!(parse("'A' # c\n").unwrap()[0].value_start, 3);
    }
}
