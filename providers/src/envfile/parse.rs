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

/// A parsed env file. Its `Debug` output shows no value.
pub(crate) struct Document<'a> {
    pub(crate) text: &'a str,
    pub(crate) bindings: Vec<Binding<'a>>,
}

/// One `KEY=value` statement. Its value is decoded only when asked for; its `Debug` output
/// shows the key and the line, never the value.
pub(crate) struct Binding<'a> {
    pub(crate) key: &'a str,
    /// Whether the key was written in single quotes.
    pub(crate) quoted_key: bool,
    /// How the value is written; `None` for a bare key without `=`.
    pub(crate) form: Option<Form>,
    /// The value as written, quotes included; empty for an empty value and a bare key.
    pub(crate) written: &'a str,
    /// Where `written` starts in the file; for a bare key, just past the key.
    pub(crate) value_start: usize,
    /// The 1-based line of the key.
    pub(crate) line: usize,
    /// The start of the line that holds the key.
    pub(crate) start: usize,
    /// Just past the statement's line ending.
    pub(crate) end: usize,
}

impl std::fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("bindings", &self.bindings)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Binding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binding")
            .field("key", &self.key)
            .field("line", &self.line)
            .field("form", &self.form)
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

impl Binding<'_> {
    /// The value, or `None` for a bare key.
    pub(crate) fn value(&self) -> Option<Cow<'_, str>> {
        let inner = || &self.written[1..self.written.len() - 1];
        Some(match self.form? {
            Form::Bare => Cow::Borrowed(self.written),
            Form::Single => unescape(inner(), false),
            Form::Double => unescape(inner(), true),
        })
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
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The length of the longest prefix of `s` whose characters all satisfy `keep`, with a fast path
/// for ASCII (the parser's hot loop).
fn prefix_len(s: &str, keep: impl Fn(char) -> bool) -> usize {
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b >= 0x80 {
            return i + s[i..]
                .char_indices()
                .find(|&(_, c)| !keep(c))
                .map_or(s.len() - i, |(j, _)| j);
        }
        if !keep(char::from(b)) {
            return i;
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
    fn skip_spaces(&mut self, newlines: bool) {
        let skipped = if newlines {
            prefix_len(self.rest(), is_space)
        } else {
            prefix_len(self.rest(), |c| is_space(c) && c != '\r' && c != '\n')
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

/// An unquoted value: the rest of the line, cut at the first spaces followed by `#`
/// (`re.sub(r"\s+#.*", "", part)`), then without trailing spaces (`rstrip()`).
fn unquoted_len(part: &str) -> usize {
    // The leftmost `#` with a space before it starts the comment; the spaces go with it.
    let comment = memchr::memchr_iter(b'#', part.as_bytes())
        .find(|&at| part[..at].ends_with(is_space))
        .unwrap_or(part.len());
    part[..comment].trim_end_matches(is_space).len()
}

/// Parses a whole file. `text` may start with a BOM, which is skipped.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, LineError> {
    // At most one statement a line: reserving that up front (untouched pages cost nothing)
    // saves growing and copying a large vector.
    let mut bindings = Vec::with_capacity(crate::fs::count_breaks(text.as_bytes()) + 1);
    each_binding(text, |binding| bindings.push(binding))?;
    Ok(Document { text, bindings })
}

/// Parses a whole file, handing each statement to `found` in order instead of keeping them.
pub(crate) fn each_binding<'a>(
    text: &'a str,
    mut found: impl FnMut(Binding<'a>),
) -> Result<(), LineError> {
    let start = if text.starts_with('\u{feff}') {
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
                let len = prefix_len(r.rest(), |c| c != '=' && c != '#' && !is_space(c));
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
                    let end = r.line_end();
                    let len = unquoted_len(&text[at..end]);
                    r.pos = end;
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
            quoted_key,
            form,
            written: &text[value_start..value_end],
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

    fn values(text: &str) -> Vec<(&str, Option<String>)> {
        parse(text)
            .unwrap()
            .bindings
            .into_iter()
            .map(|b| (b.key, b.value().map(Cow::into_owned)))
            .collect()
    }

    #[test]
    fn spans_cover_the_value_as_written() {
        let text = "A=plain # c\nexport B = 'single' #c\r\nC=\"dq\\\"\"\nD=\n";
        let doc = parse(text).unwrap();
        let spans: Vec<_> = doc.bindings.iter().map(|b| b.written).collect();
        assert_eq!(spans, ["plain", "'single'", "\"dq\\\"\"", ""]);
        let lines: Vec<_> = doc.bindings.iter().map(|b| &text[b.start..b.end]).collect();
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
        assert_eq!(doc.bindings[0].value().unwrap(), "");
        assert_eq!(doc.bindings[0].value_start, 3);
        assert_eq!(doc.bindings[1].value().unwrap(), "#x");
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
        assert_eq!(parse("'A' # c\n").unwrap().bindings[0].value_start, 3);
    }
}
