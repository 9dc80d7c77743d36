//! `.secrets.local.cue`: the subset of CUE that Encore's local overrides use, one field a line,
//!
//! ```cue
//! // comments and blank lines are kept
//! DATABASE_URL: "postgres://localhost/app"
//! "api-key":    "a \"quoted\" value\n"
//! ```
//!
//! read (labels bare or quoted; single-line double-quoted strings with CUE's escapes; an optional
//! `,` and `// comment` after the value; a byte order mark at the start; one `package` clause,
//! before any field, as CUE requires) and merged in place: values replaced where they stand, new
//! fields appended, the rest kept. Anything else in the file is
//! an error naming its line, and the file is left alone.

use crate::fs;
use foldhash::{HashMap, HashSet};
use stagecraft_core::{Action, SyncReport};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The name of the overrides file, next to `encore.app`.
pub(super) const FILE_NAME: &str = ".secrets.local.cue";

/// A line of `.secrets.local.cue` outside the subset this provider reads. Never quotes the line.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}:{column}: {reason}", path.display())]
pub struct CueError {
    /// The file.
    pub path: PathBuf,
    /// The line, 1-based.
    pub line: usize,
    /// The column (in characters), 1-based.
    pub column: usize,
    /// What is wrong.
    pub reason: &'static str,
}

/// A field of the file: `label: "value"` on one line.
#[derive(Debug)]
struct Field {
    key: String,
    value: String,
    /// The byte range of the whole line, its line break included.
    line: (usize, usize),
    /// The byte range of the string literal.
    literal: (usize, usize),
}

/// Reads the fields of `.secrets.local.cue` text, in order (a label given twice appears twice).
pub fn read_cue(path: &Path, text: &str) -> Result<Vec<(String, String)>, CueError> {
    Ok(parse(path, text)?
        .into_iter()
        .map(|f| (f.key, f.value))
        .collect())
}

fn parse(path: &Path, text: &str) -> Result<Vec<Field>, CueError> {
    let mut fields = Vec::new();
    let mut start = 0;
    // CUE's rules: a package clause comes before any field, and once.
    let mut package_seen = false;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = (start, start + raw.len());
        start += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let error = |at: usize, reason| CueError {
            path: path.to_owned(),
            line: index + 1,
            column: body[..at.min(body.len())].chars().count() + 1,
            reason,
        };
        let mut cursor = Cursor { text: body, at: 0 };
        // A byte order mark is read only as the first character of the file.
        if index == 0 {
            cursor.eat('\u{feff}');
        }
        cursor.skip_space();
        if cursor.rest().is_empty() || cursor.rest().starts_with("//") {
            continue;
        }
        if let Some(name) = cursor.rest().strip_prefix("package") {
            let name = name.split("//").next().unwrap_or_default();
            if name.starts_with([' ', '\t']) && is_identifier(name.trim()) {
                if package_seen {
                    return Err(error(cursor.at, "a second package clause"));
                }
                if !fields.is_empty() {
                    return Err(error(
                        cursor.at,
                        "the package clause must come before any field",
                    ));
                }
                package_seen = true;
                continue;
            }
            if name.starts_with([' ', '\t']) {
                return Err(error(cursor.at, "expected a package name"));
            }
        }
        let key = if cursor.rest().starts_with('"') {
            cursor.string().map_err(|(at, why)| error(at, why))?
        } else {
            let label = cursor.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
            if label.is_empty() {
                return Err(error(
                    cursor.at,
                    "expected a field such as `KEY: \"value\"`, a comment or a blank line",
                ));
            }
            if label.starts_with('_') || label.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(error(
                    cursor.at - label.len(),
                    "a label that starts with `_` or a digit is not a field Encore reads; quote it",
                ));
            }
            label.to_owned()
        };
        cursor.skip_space();
        if !cursor.eat(':') {
            return Err(error(cursor.at, "expected `:` after the label"));
        }
        cursor.skip_space();
        if !cursor.rest().starts_with('"') || cursor.rest().starts_with("\"\"\"") {
            return Err(error(
                cursor.at,
                "expected a single-line string in double quotes (other CUE values are not supported)",
            ));
        }
        let literal_start = cursor.at;
        let value = cursor.string().map_err(|(at, why)| error(at, why))?;
        let literal = (line.0 + literal_start, line.0 + cursor.at);
        cursor.skip_space();
        cursor.eat(',');
        cursor.skip_space();
        if !(cursor.rest().is_empty() || cursor.rest().starts_with("//")) {
            return Err(error(
                cursor.at,
                "expected the end of the line or a `//` comment after the value",
            ));
        }
        fields.push(Field {
            key,
            value,
            line,
            literal,
        });
    }
    Ok(fields)
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        self.take_while(|c| c == ' ' || c == '\t');
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let len = rest.find(|c| !keep(c)).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.rest().starts_with(c);
        if found {
            self.at += c.len_utf8();
        }
        found
    }

    /// A double-quoted string, its escapes decoded. Errors carry the byte offset.
    fn string(&mut self) -> Result<String, (usize, &'static str)> {
        let open = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = self.rest();
            let Some(c) = rest.chars().next() else {
                return Err((open, "string not closed on its line"));
            };
            let here = self.at;
            self.at += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.escape().map_err(|why| (here, why))?),
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self) -> Result<char, &'static str> {
        let Some(c) = self.rest().chars().next() else {
            return Err("string not closed on its line");
        };
        self.at += c.len_utf8();
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '/' => '/',
            '\\' => '\\',
            '"' => '"',
            'u' => self.hex(4)?,
            'U' => self.hex(8)?,
            '(' => return Err("string interpolation is not supported"),
            _ => return Err("unknown escape sequence"),
        })
    }

    fn hex(&mut self, digits: usize) -> Result<char, &'static str> {
        let rest = self.rest();
        let hex = rest
            .get(..digits)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or("expected hexadecimal digits after `\\u` or `\\U`")?;
        self.at += digits;
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or("escape is not a Unicode character")
    }
}

fn is_identifier(label: &str) -> bool {
    let mut chars = label.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// CUE's keywords, which are written quoted as labels to be safe.
const KEYWORDS: [&str; 9] = [
    "package", "import", "for", "in", "if", "let", "true", "false", "null",
];

/// Writes `value` as a CUE double-quoted string that reads back as exactly `value`.
pub fn write_cue_string(value: &str, out: &mut String) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Control characters and the byte order mark would be invisible or unreadable.
            c if c.is_control() || c == '\u{feff}' => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_label(key: &str, out: &mut String) {
    if is_identifier(key) && !KEYWORDS.contains(&key) {
        out.push_str(key);
    } else {
        write_cue_string(key, out);
    }
}

/// Merges `entries` into `.secrets.local.cue` in `app_root`, the directory of `encore.app`; with
/// `prune`, removes the fields whose label is not among `source_keys`.
pub(super) fn sync_local_overrides(
    source: &Path,
    app_root: &Path,
    entries: &[(String, String)],
    source_keys: &[String],
    dry_run: bool,
    prune: bool,
) -> Result<SyncReport, super::Error> {
    let target = app_root.join(FILE_NAME);
    // Locked from the read to the rename, so that concurrent syncs cannot lose each other's keys.
    let mut locked = fs::LockedTarget::lock(&target)?;
    let text = locked.read_text()?.unwrap_or_default();
    let fields = parse(&target, &text)?;
    let mut report = SyncReport::new(source.display().to_string(), target.display().to_string());
    // Byte ranges of the text to replace, with what replaces them.
    let mut edits: Vec<((usize, usize), String)> = Vec::new();
    let mut appended = String::new();
    // The fields of each label (a label given twice has two), so that the merge is linear.
    let mut by_label: HashMap<&str, Vec<&Field>> = HashMap::default();
    for field in &fields {
        by_label.entry(&field.key).or_default().push(field);
    }
    for (key, value) in entries {
        let current = by_label.get(key.as_str()).map_or(&[][..], Vec::as_slice);
        let action = if current.is_empty() {
            write_label(key, &mut appended);
            appended.push_str(": ");
            write_cue_string(value, &mut appended);
            appended.push('\n');
            Action::Added
        } else {
            let mut changed = false;
            for field in current.iter().filter(|f| f.value != *value) {
                let mut literal = String::new();
                write_cue_string(value, &mut literal);
                edits.push((field.literal, literal));
                changed = true;
            }
            if changed {
                Action::Changed
            } else {
                Action::Unchanged
            }
        };
        report.push(key, action);
    }
    // Lines added keep the file's own line ending.
    let line_ending = match text.find('\n') {
        Some(at) if text[..at].ends_with('\r') => "\r\n",
        _ => "\n",
    };
    if line_ending != "\n" {
        appended = appended.replace('\n', line_ending);
    }
    if prune {
        let in_source: HashSet<&str> = source_keys.iter().map(String::as_str).collect();
        let mut reported: HashSet<&str> = HashSet::default();
        let mut removed: Vec<&str> = Vec::new();
        for field in fields
            .iter()
            .filter(|f| !in_source.contains(f.key.as_str()))
        {
            edits.push((field.line, String::new()));
            if reported.insert(&field.key) {
                removed.push(&field.key);
            }
        }
        for key in removed {
            report.push(key, Action::Removed);
        }
    }
    if (edits.is_empty() && appended.is_empty()) || dry_run {
        return Ok(report);
    }
    edits.sort_by_key(|(range, _)| range.0);
    let mut merged = String::with_capacity(text.len() + appended.len());
    let mut copied = 0;
    for ((start, end), with) in &edits {
        merged.push_str(&text[copied..*start]);
        merged.push_str(with);
        copied = *end;
    }
    merged.push_str(&text[copied..]);
    if !appended.is_empty() && !merged.is_empty() && !merged.ends_with('\n') {
        merged.push_str(line_ending);
    }
    merged.push_str(&appended);
    // `replace` holds interruptions while its temporary copy of the secrets exists.
    locked.replace(|out: &mut (dyn Write + Send)| -> io::Result<()> {
        out.write_all(merged.as_bytes())
    })?;
    report.written = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(String, String)>, CueError> {
        read_cue(Path::new("t.cue"), text)
    }

    #[test]
    fn reads_what_it_writes() {
        for value in [
            "",
            "plain",
            "quote \" backslash \\ interpolation \\(x)",
            "line\nbreaks\r\n",
            "tab\tnul\0bell\u{7}del\u{7f}bom\u{feff}",
            "unicode é ✓ 🎉",
        ] {
            let mut text = String::from("KEY: ");
            write_cue_string(value, &mut text);
            assert_eq!(read(&text).unwrap(), [("KEY".to_owned(), value.to_owned())]);
        }
    }

    #[test]
    fn labels_that_are_not_identifiers_are_quoted() {
        for (key, written) in [
            ("API_KEY", "API_KEY"),
            ("_hidden", "\"_hidden\""),
            ("if", "\"if\""),
            ("with-dash", "\"with-dash\""),
            ("1st", "\"1st\""),
        ] {
            let mut out = String::new();
            write_label(key, &mut out);
            assert_eq!(out, written);
            out.push_str(": \"v\"");
            assert_eq!(read(&out).unwrap()[0].0, key);
        }
    }

    #[test]
    fn errors_name_the_line_and_column_but_not_the_text() {
        let error = read("// ok\nA: \"1\"\nB: 42\n").unwrap_err();
        assert_eq!((error.line, error.column), (3, 4));
        let error = read("A: \"secret\\qvalue\"\n").unwrap_err();
        assert_eq!(error.reason, "unknown escape sequence");
        assert!(!error.to_string().contains("secret"));
        assert!(read("A: \"open\n").is_err());
        assert!(read("A: \"\"\"\n").is_err());
        assert!(read("_x: \"1\"\n").is_err());
        assert!(read("A: \"1\" B: \"2\"\n").is_err());
    }

    #[test]
    fn a_byte_order_mark_then_a_comment_or_a_blank_line_is_read() {
        for text in [
            "\u{feff}// c\nA: \"1\"\n",
            "\u{feff}\nA: \"1\"\n",
            "\u{feff}package p\nA: \"1\"\n",
        ] {
            assert_eq!(
                read(text).unwrap(),
                [("A".to_owned(), "1".to_owned())],
                "{text:?}"
            );
        }
        // Only at the start of the file.
        assert!(read("A: \"1\"\n\u{feff}B: \"2\"\n").is_err());
    }

    #[test]
    fn the_package_clause_comes_first_and_once() {
        let error = read("X: \"1\"\npackage secrets\n").unwrap_err();
        assert_eq!(
            (error.line, error.reason),
            (2, "the package clause must come before any field")
        );
        let error = read("package a\n// c\npackage b\n").unwrap_err();
        assert_eq!((error.line, error.reason), (3, "a second package clause"));
        assert!(read("// c\n\npackage a // the package\nA: \"1\"\n").is_ok());
        assert!(read("package 1a\n").is_err());
    }

    #[test]
    fn accepts_commas_comments_and_a_package_clause() {
        let text = "package secrets\n\n// note\nA: \"1\", // trailing\n  \"b-c\" : \"2\"\r\n";
        assert_eq!(
            read(text).unwrap(),
            [
                ("A".to_owned(), "1".to_owned()),
                ("b-c".to_owned(), "2".to_owned())
            ]
        );
    }
}
