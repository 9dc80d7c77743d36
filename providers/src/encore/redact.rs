//! What of a child's stderr may be shown: whole lines that hold no form of any value of the
//! sync. Every other line is withheld, and counted.
//!
//! Each value is looked for as it is, trimmed, and line by line (each line trimmed), in three
//! readings of every line of stderr: as written; with its escapes decoded, which undoes Go's `%q`
//! and `%+q`, JSON (ASCII-only too, surrogate pairs included), Rust's `{:?}`, C, Python and `$'…'`
//! shell escapes (`\t`, `\xHH`, `\uXXXX`, `\u{…}`, `\UXXXXXXXX`, octal `\NNN`, a backslash before
//! any other character dropped, as in `Spaced\ value`); and with shells' single-quote joins
//! (`'\''`, `'"'"'`) undone before decoding. Only the first 64 bytes of each form are searched
//! for: a line that holds the start of a value is withheld too, and the search costs the same
//! whatever the size of the values.
//!
//! A value shorter than [`MIN_SEARCHED`] bytes (trimmed), or a line of a multi-line value that is
//! that short and holds a letter or digit, is too short to search for inside words: it is looked
//! for as a word of its own (what is next to it on either side is not a letter, digit or `_`), so
//! that `USE_CACHE=n` withholds `cache is n` and `got "n"` but not `not logged in`. Short lines
//! without a letter or digit, such as `}` or `--`, are not searched alone; the value they belong
//! to is. Blank values are not searched: no line can give them away.
//!
//! What is kept of stderr is bounded whatever the values: its first and last 8 KiB. A line cut
//! by either bound, or not ended when the call ended, is withheld.

use aho_corasick::{AhoCorasick, MatchKind};
use std::fmt::Write as _;
use std::ops::Range;
use std::process::ExitStatus;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The shortest value (trimmed) that is searched for.
pub(super) const MIN_SEARCHED: usize = 4;

/// How much of each form of a value is searched for.
const PREFIX: usize = 64;

/// How much of what a child said a message shows.
pub(super) const SHOWN: usize = 300;

/// How much of the start, and of the end, of a child's stderr is kept.
const KEPT: usize = 8 << 10;

/// What was kept of a child's stderr: its first and last [`KEPT`] bytes.
#[derive(Debug, Default)]
pub(super) struct Captured {
    head: Vec<u8>,
    tail: Vec<u8>,
    /// Bytes between the head and the tail that were not kept.
    dropped: u64,
    /// Whether the stream was read to its end.
    ended: bool,
}

impl Captured {
    /// Reads `from` to its end, keeping its start and end; stopped early (its future dropped),
    /// it keeps what it read.
    pub(super) async fn read_from(&mut self, from: &mut (impl AsyncRead + Unpin)) {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf).await {
                Ok(0) => {
                    self.ended = true;
                    return;
                }
                Err(_) => return,
                Ok(n) => self.keep(&buf[..n]),
            }
        }
    }

    fn keep(&mut self, mut bytes: &[u8]) {
        if self.head.len() < KEPT {
            let room = (KEPT - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..room]);
            bytes = &bytes[room..];
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * KEPT {
            let excess = self.tail.len() - KEPT;
            self.tail.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Whether it said nothing at all.
    pub(super) fn is_empty(&self) -> bool {
        self.head.is_empty()
    }

    /// Calls `each(line, whole)` for each line kept: whole when not cut by a bound and, for
    /// the last, when the stream ended.
    fn each_line(&self, each: &mut dyn FnMut(&[u8], bool)) {
        let excess = self.tail.len().saturating_sub(KEPT);
        let tail = &self.tail[excess..];
        if self.dropped == 0 && excess == 0 {
            // All of it was kept: one text, so that a line across the two parts is one line.
            let text = [&self.head[..], tail].concat();
            split_lines(&text, true, self.ended, each);
        } else {
            split_lines(&self.head, true, false, each);
            split_lines(tail, false, self.ended, each);
        }
    }
}

/// Calls `each(line, whole)` for each non-empty line of `text`: the first is whole when
/// `starts_whole`, the last (with no line break after it) when `ends_whole`.
fn split_lines(
    text: &[u8],
    starts_whole: bool,
    ends_whole: bool,
    each: &mut dyn FnMut(&[u8], bool),
) {
    let last = memchr::memchr_iter(b'\n', text).count();
    for (i, piece) in text.split(|&b| b == b'\n').enumerate() {
        if !piece.is_empty() {
            each(piece, (i > 0 || starts_whole) && (i < last || ends_whole));
        }
    }
}

/// Finds every form of every value of a sync in a child's stderr.
pub(super) struct Redactor<'v> {
    /// The first [`PREFIX`] bytes of each form; `None` when there is nothing to look for.
    search: Option<AhoCorasick>,
    /// Each form, at the index of its pattern.
    forms: Vec<&'v str>,
    /// The forms shorter than [`MIN_SEARCHED`], looked for as words of their own.
    short: Option<AhoCorasick>,
    /// The searches could not be built: every line is withheld.
    withhold_all: bool,
}

impl<'v> Redactor<'v> {
    pub(super) fn new(values: impl IntoIterator<Item = &'v str>) -> Self {
        let mut forms = Vec::new();
        let mut short = Vec::new();
        for value in values {
            let trimmed = value.trim();
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.len() < MIN_SEARCHED {
                short.push(trimmed);
                continue;
            }
            forms.extend([value, trimmed]);
            if value.contains(['\n', '\r']) {
                for line in value.split(['\n', '\r']).map(str::trim) {
                    if line.len() >= MIN_SEARCHED {
                        forms.push(line);
                    } else if line.chars().any(char::is_alphanumeric) {
                        short.push(line);
                    }
                }
            }
        }
        for list in [&mut forms, &mut short] {
            list.sort_unstable();
            list.dedup();
        }
        let mut withhold_all = false;
        let mut build = |patterns: Vec<&[u8]>| {
            if patterns.is_empty() {
                return None;
            }
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(patterns);
            // Fails only past the limits of the automaton: then nothing is shown.
            withhold_all |= built.is_err();
            built.ok()
        };
        let search = build(
            forms
                .iter()
                .map(|f| &f.as_bytes()[..f.len().min(PREFIX)])
                .collect(),
        );
        let short = build(short.iter().map(|f| f.as_bytes()).collect());
        Redactor {
            search,
            forms,
            short,
            withhold_all,
        }
    }

    /// Whether `text` holds a form of a value, as written.
    fn found_in(&self, text: &[u8]) -> bool {
        if self.search.as_ref().is_some_and(|s| s.is_match(text)) {
            return true;
        }
        let Some(short) = &self.short else {
            return false;
        };
        let Ok(mut matches) = short.try_find_overlapping_iter(text) else {
            return true;
        };
        let word = |at: usize| text.get(at).is_some_and(|&b| is_word_byte(b));
        matches.any(|found| {
            let (start, end) = (found.start(), found.end());
            let alone_before = start == 0 || !is_word_byte(text[start]) || !word(start - 1);
            let alone_after = !is_word_byte(text[end - 1]) || !word(end);
            alone_before && alone_after
        })
    }

    /// Whether `line`, read in any of the ways this module names, holds a form of a value.
    fn holds_value(&self, line: &[u8]) -> bool {
        if self.found_in(line) {
            return true;
        }
        if line.contains(&b'\\') && self.found_in(&unescape(line)) {
            return true;
        }
        // Inside single quotes a backslash is itself: read the joined line both ways.
        let joined = join_shell_quotes(line);
        joined.len() != line.len() && (self.found_in(&joined) || self.found_in(&unescape(&joined)))
    }

    /// Whether stderr says `phrase` somewhere other than inside a value (as written) it echoed:
    /// what the CLI said is read from the text itself, never from what is shown.
    pub(super) fn says(&self, said: &Captured, phrase: &str) -> bool {
        let mut found = false;
        said.each_line(&mut |line, _| {
            found = found
                || memchr::memmem::find_iter(line, phrase.as_bytes())
                    .any(|at| !self.inside_value(line, at..at + phrase.len()));
        });
        found
    }

    fn inside_value(&self, line: &[u8], range: Range<usize>) -> bool {
        let Some(search) = &self.search else {
            return false;
        };
        let Ok(matches) = search.try_find_overlapping_iter(line) else {
            return false;
        };
        matches.into_iter().any(|found| {
            let form = self.forms[found.pattern().as_usize()].as_bytes();
            let end = if line[found.start()..].starts_with(form) {
                found.start() + form.len()
            } else {
                found.end()
            };
            found.start() <= range.start && range.end <= end
        })
    }

    /// What a call that ended with `status` said, as one line: the lines that hold no value,
    /// cut to [`SHOWN`] bytes, then how many lines were withheld.
    pub(super) fn message(&self, said: &Captured, status: Option<ExitStatus>) -> String {
        let mut shown = String::new();
        let mut withheld = 0;
        said.each_line(&mut |line, whole| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            if !whole || self.withhold_all || self.holds_value(line) {
                withheld += 1;
                return;
            }
            if shown.len() > SHOWN {
                return;
            }
            let text = String::from_utf8_lossy(line);
            for word in text
                .split(|c: char| c.is_whitespace() || c.is_control())
                .filter(|w| !w.is_empty())
            {
                if !shown.is_empty() {
                    shown.push(' ');
                }
                shown.push_str(word);
            }
        });
        if let Some(rest) = shown.strip_prefix("error:") {
            shown = rest.trim_start().to_owned();
        }
        if shown.len() > SHOWN {
            let mut cut = SHOWN;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push('…');
        }
        let status = match status {
            Some(status) => format!("encore {status}"),
            None => "encore could not be waited for".to_owned(),
        };
        if withheld == 0 {
            return if shown.is_empty() {
                format!("{status} and said nothing")
            } else {
                shown
            };
        }
        let lines = if withheld == 1 { "line" } else { "lines" };
        let why = if self.withhold_all {
            "there are too many values to search for"
        } else {
            "it may hold a value"
        };
        let mut message = if shown.is_empty() {
            format!("{status}; ")
        } else {
            format!("{shown} ")
        };
        let _ = write!(message, "[{withheld} {lines} of stderr withheld: {why}]");
        message
    }
}

/// Whether `byte` can be part of a word: a letter, digit or `_`, or part of a character
/// outside ASCII.
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || !byte.is_ascii()
}

/// `line` with the escapes of Go, JSON, Rust, C, Python and shells decoded (see the module).
fn unescape(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b != b'\\' || i + 1 == line.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = line[i + 1];
        i += 2;
        match c {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'e' => out.push(0x1b),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => match hex(line, i, 2) {
                Some(byte) => {
                    out.push(byte as u8);
                    i += 2;
                }
                None => out.push(c),
            },
            b'u' if line.get(i) == Some(&b'{') => {
                let digits = line[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
                match hex(line, i + 1, digits).filter(|_| line.get(i + 1 + digits) == Some(&b'}')) {
                    Some(code) => {
                        push_char(&mut out, code);
                        i += digits + 2;
                    }
                    None => out.push(c),
                }
            }
            b'u' | b'U' => {
                let digits = if c == b'u' { 4 } else { 8 };
                let Some(mut code) = hex(line, i, digits) else {
                    out.push(c);
                    continue;
                };
                i += digits;
                let low = hex(line, i + 2, 4)
                    .filter(|low| (0xdc00..0xe000).contains(low) && line[i..].starts_with(b"\\u"));
                if let (true, Some(low)) = ((0xd800..0xdc00).contains(&code), low) {
                    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                    i += 6;
                }
                push_char(&mut out, code);
            }
            b'0'..=b'7' => {
                let mut code = u32::from(c - b'0');
                for _ in 0..2 {
                    match line.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            code = code * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(code as u8);
            }
            other => out.push(other),
        }
    }
    out
}

/// The number written in `digits` hexadecimal digits at `at`, if they are there.
fn hex(line: &[u8], at: usize, digits: usize) -> Option<u32> {
    let text = line.get(at..at + digits)?;
    if digits == 0 || digits > 8 || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

fn push_char(out: &mut Vec<u8>, code: u32) {
    let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
}

/// `line` with the ways shells write a `'` inside single quotes (`'\''`, `'"'"'`) made one `'`.
fn join_shell_quotes(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        if rest.starts_with(b"'\\''") {
            out.push(b'\'');
            i += 4;
        } else if rest.starts_with(b"'\"'\"'") {
            out.push(b'\'');
            i += 5;
        } else {
            out.push(line[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(text: &str) -> Captured {
        let mut said = Captured::default();
        said.keep(text.as_bytes());
        said.ended = true;
        said
    }

    fn message(values: &[&str], stderr: &str) -> String {
        Redactor::new(values.iter().copied()).message(&captured(stderr), None)
    }

    #[test]
    fn lines_without_a_value_are_shown_and_the_others_counted() {
        assert_eq!(
            message(
                &["hunter2-secret"],
                "error: bad value\nfor hunter2-secret\nsee docs\n"
            ),
            "bad value see docs [1 line of stderr withheld: it may hold a value]"
        );
        assert_eq!(
            message(&["hunter2-secret"], "error: quota exceeded\n"),
            "quota exceeded"
        );
        assert_eq!(
            message(&["hunter2-secret"], "hunter2-secret\n"),
            "encore could not be waited for; [1 line of stderr withheld: it may hold a value]"
        );
    }

    #[test]
    fn every_quoted_or_escaped_form_is_found() {
        let value = "p\u{e4}ssw\u{f6}rd\u{2713}\ttab\u{7}Canary 'q' \"d\" \\b";
        for form in [
            // Go %q
            r#""pässwörd✓\ttab\aCanary 'q' \"d\" \\b""#,
            // Go %+q and ASCII-only JSON
            r#""p\u00e4ssw\u00f6rd\u2713\ttab\aCanary 'q' \"d\" \\b""#,
            r#""p\u00e4ssw\u00f6rd\u2713\ttab\u0007Canary 'q' \"d\" \\b""#,
            // Rust {:?}
            r#""pässwörd✓\ttab\u{7}Canary 'q' \"d\" \\b""#,
            // Python repr, bash $'…'
            r#"'pässwörd✓\ttab\x07Canary \'q\' "d" \\b'"#,
            r#"$'pässwörd✓\ttab\007Canary \'q\' "d" \\b'"#,
        ] {
            let line = format!("error: invalid value {form}\n");
            assert_eq!(
                message(&[value], &line),
                "encore could not be waited for; [1 line of stderr withheld: it may hold a value]",
                "{form}"
            );
        }
        // Shell quoting, POSIX and Python's shlex, and bash's printf %q.
        let value = "it's a Spaced Canary";
        for form in [
            r"'it'\''s a Spaced Canary'",
            r#"'it'"'"'s a Spaced Canary'"#,
            r"it\'s\ a\ Spaced\ Canary",
        ] {
            assert!(message(&[value], form).contains("withheld"), "{form}");
        }
        // A backslash inside single quotes is itself.
        let value = r"it's a \ Canary";
        for form in [r"'it'\''s a \ Canary'", r"it\'s\ a\ \\\ Canary"] {
            assert!(message(&[value], form).contains("withheld"), "{form}");
        }
        // A surrogate pair, as ASCII-only JSON writes a character outside the BMP.
        assert!(message(&["party🎉time"], r#""party\ud83c\udf89time""#).contains("withheld"));
    }

    #[test]
    fn trimmed_values_and_each_line_of_a_multi_line_one_are_found() {
        assert!(message(&["  SpacedCanary  "], "got 'SpacedCanary'").contains("withheld"));
        let pem = "-----BEGIN KEY-----\nMIIEsecretline\r\nabc\n}\n-----END KEY-----\n";
        let said = "error: line 1: -----BEGIN KEY-----\nline 2: MIIEsecretline\nok\n";
        assert_eq!(
            message(
                &["-----BEGIN KEY-----\nMIIEsecretline\r\n}\n-----END KEY-----"],
                said
            ),
            "ok [2 lines of stderr withheld: it may hold a value]",
        );
        // A short line of it, with a letter, is looked for as a word.
        assert_eq!(message(&[pem], "ok\n"), "ok");
        assert!(message(&[pem], "got abc\n").contains("withheld"));
    }

    #[test]
    fn a_short_value_is_found_as_a_word_of_its_own() {
        let withheld =
            "encore could not be waited for; [1 line of stderr withheld: it may hold a value]";
        for said in ["cache is n", "USE_CACHE=n", "got \"n\"", "n", "(n)"] {
            assert_eq!(message(&["n"], said), withheld, "{said}");
        }
        assert_eq!(message(&["n"], "error: not logged in\n"), "not logged in");
        assert_eq!(message(&["1", "ab"], "K1 is bad: abc\n"), "K1 is bad: abc");
        assert_eq!(message(&["1"], "exit 1\n"), withheld);
        // Escaped, and a short line of a multi-line value.
        assert_eq!(message(&["a\tb"], r#"invalid "a\tb""#), withheld);
        assert_eq!(
            message(&["-----BEGIN-----\nxy\n-----END-----"], "got xy"),
            withheld
        );
        assert_eq!(
            message(&["-----BEGIN-----\n}\n-----END-----"], "got }"),
            "got }"
        );
        // Blank values give nothing away.
        assert_eq!(message(&["", "  "], "error: quota\n"), "quota");
    }

    #[test]
    fn fatal_phrases_are_read_from_the_raw_text() {
        let redactor = Redactor::new(["n", "logged in"]);
        assert!(redactor.says(
            &captured("error: not logged in: run 'encore auth login'\n"),
            "not logged in"
        ));
        let redactor = Redactor::new(["not logged in"]);
        assert!(!redactor.says(
            &captured("error: rejected not logged in\n"),
            "not logged in"
        ));
    }

    #[test]
    fn the_start_of_a_long_value_is_enough_and_cut_lines_are_withheld() {
        let long = format!("{}{}", "k".repeat(100), "tail");
        let start = &long[..70];
        assert!(message(&[&long], &format!("truncated: {start}...")).contains("withheld"));
        // A flood: kept to its first and last 8 KiB, a line cut by either is withheld.
        let mut said = Captured::default();
        for _ in 0..10_000 {
            said.keep(b"noise noise noise\n");
        }
        said.keep(b"error: flooded\n");
        said.ended = true;
        assert!(said.head.len() + said.tail.len() <= 3 * KEPT);
        let shown = Redactor::new(["secret-value"]).message(&said, None);
        assert!(shown.starts_with("noise noise"), "{shown}");
        // The line cut at the end of the head, and the one cut at the start of the tail.
        assert!(
            shown.ends_with("… [2 lines of stderr withheld: it may hold a value]"),
            "{shown}"
        );
    }
}
