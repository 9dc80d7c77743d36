//! The env file dialect: a conformance table built from the cases the python-dotenv, node dotenv
//! and docker compose test suites exercise (the vectors are facts; the tests are ours), whole
//! real-world files, and round trips of the writer. Where python-dotenv is installed (CI
//! installs it), every vector and round trip is also checked against it.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use stagecraft_providers::envfile::{ParseError, read_str, write_string};

mod support;

/// What a file reads as: its keys and values, or the line and reason of the first error.
type Outcome = Result<&'static [(&'static str, &'static str)], (usize, ParseError)>;

/// (file text, what it reads as, whether python-dotenv reads it the same way).
const VECTORS: &[(&str, Outcome, bool)] = &[
    ("", Ok(&[]), true),
    ("a=b", Ok(&[("a", "b")]), true),
    ("a=b\n", Ok(&[("a", "b")]), true),
    ("'a'=b", Ok(&[("a", "b")]), true),
    ("[=b", Ok(&[("[", "b")]), true),
    (" a = b ", Ok(&[("a", "b")]), true),
    ("export a=b", Ok(&[("a", "b")]), true),
    (" export 'a'=b", Ok(&[("a", "b")]), true),
    ("export\ta=b", Ok(&[("a", "b")]), true),
    ("export=1", Ok(&[("export", "1")]), true),
    ("export export_a=1", Ok(&[("export_a", "1")]), true),
    ("# comment", Ok(&[]), true),
    ("  # indented comment\na=1", Ok(&[("a", "1")]), true),
    ("a=b # comment", Ok(&[("a", "b")]), true),
    ("a=b#not a comment", Ok(&[("a", "b#not a comment")]), true),
    ("a=b\t# tab comment", Ok(&[("a", "b")]), true),
    ("a=b space ", Ok(&[("a", "b space")]), true),
    ("a=  b", Ok(&[("a", "b")]), true),
    ("a=#c", Ok(&[("a", "#c")]), true),
    // Spaces after `=`, then `#`: an empty value and a comment (python-dotenv 1.2.4).
    ("a= #c", Ok(&[("a", "")]), true),
    ("a=\t# c\nb=1", Ok(&[("a", ""), ("b", "1")]), true),
    ("a = # c", Ok(&[("a", "")]), true),
    ("a=b  # c  ", Ok(&[("a", "b")]), true),
    ("a='b space '", Ok(&[("a", "b space ")]), true),
    ("a=\"b space \"", Ok(&[("a", "b space ")]), true),
    ("a=\"b\" # comment", Ok(&[("a", "b")]), true),
    ("a=\"b\"#comment", Ok(&[("a", "b")]), true),
    ("a='b' \n", Ok(&[("a", "b")]), true),
    ("a=\"b#c\"", Ok(&[("a", "b#c")]), true),
    ("a='b #c'", Ok(&[("a", "b #c")]), true),
    ("a=", Ok(&[("a", "")]), true),
    ("a=\nb=c", Ok(&[("a", ""), ("b", "c")]), true),
    ("a=''", Ok(&[("a", "")]), true),
    ("a=\"\"", Ok(&[("a", "")]), true),
    ("a=b\nc=d", Ok(&[("a", "b"), ("c", "d")]), true),
    ("a=b\rc=d", Ok(&[("a", "b"), ("c", "d")]), true),
    ("a=b\r\nc=d\r\n", Ok(&[("a", "b"), ("c", "d")]), true),
    ("a=b\n\n\nc=d", Ok(&[("a", "b"), ("c", "d")]), true),
    ("a=b\n# comment\nc=d", Ok(&[("a", "b"), ("c", "d")]), true),
    ("a=1\na=2", Ok(&[("a", "2")]), true),
    ("a=1\nb=2\na=3", Ok(&[("a", "3"), ("b", "2")]), true),
    // Escapes: in double quotes, in single quotes, and none in bare values.
    ("a=\"b\\nc\"", Ok(&[("a", "b\nc")]), true),
    ("a=\"b\\\\nc\"", Ok(&[("a", "b\\nc")]), true),
    ("a=\"x\\ty\\rz\"", Ok(&[("a", "x\ty\rz")]), true),
    ("a=\"\\a\\b\\f\\v\"", Ok(&[("a", "\x07\x08\x0c\x0b")]), true),
    ("a=\"b\\\"c\"", Ok(&[("a", "b\"c")]), true),
    ("a=\"b\\'c\"", Ok(&[("a", "b'c")]), true),
    ("a=\"\\$x \\d\"", Ok(&[("a", "\\$x \\d")]), true),
    ("a='b\\nc'", Ok(&[("a", "b\\nc")]), true),
    ("a='b\\'c'", Ok(&[("a", "b'c")]), true),
    ("a='\\\\x'", Ok(&[("a", "\\x")]), true),
    ("a=b\\nc", Ok(&[("a", "b\\nc")]), true),
    ("a=b\\", Ok(&[("a", "b\\")]), true),
    ("a=\"it's\"", Ok(&[("a", "it's")]), true),
    ("a='say \"hi\"'", Ok(&[("a", "say \"hi\"")]), true),
    // Multi-line quoted values, in every line ending.
    ("a=\"b\nc\"", Ok(&[("a", "b\nc")]), true),
    ("a='b\nc'\nd=e", Ok(&[("a", "b\nc"), ("d", "e")]), true),
    (
        "a=\"b\r\nc\"\r\nd=e",
        Ok(&[("a", "b\nc"), ("d", "e")]),
        true,
    ),
    ("a='b\rc'", Ok(&[("a", "b\nc")]), true),
    // `$` is never expanded.
    ("a=pa$$w0rd", Ok(&[("a", "pa$$w0rd")]), true),
    ("a=\"${B}\"\nB=1", Ok(&[("a", "${B}"), ("B", "1")]), true),
    ("a=$HOME/x", Ok(&[("a", "$HOME/x")]), true),
    // Unicode.
    ("a=à", Ok(&[("a", "à")]), true),
    ("a=\"à\"", Ok(&[("a", "à")]), true),
    ("ключ=значение", Ok(&[("ключ", "значение")]), true),
    ("a=b\u{a0}", Ok(&[("a", "b")]), true),
    // A leading BOM is dropped.
    ("\u{feff}a=1", Ok(&[("a", "1")]), true),
    // Bare keys carry no value.
    ("no_value_var", Ok(&[]), true),
    ("export a", Ok(&[]), true),
    ("a # comment\nb=1", Ok(&[("b", "1")]), true),
    // A bare key after `KEY=value` leaves the key valueless; a value after it sets it again.
    ("a=1\na", Ok(&[]), true),
    ("export a=1\nexport a\nb=2", Ok(&[("b", "2")]), true),
    ("a\na=1", Ok(&[("a", "1")]), true),
    // A backslash escapes whatever follows it: an escaped backslash before the closing quote
    // closes it, and a value whose every quote is escaped is unterminated (no backtracking).
    ("a=\"C:\\\\dir\\\\\"", Ok(&[("a", "C:\\dir\\")]), true),
    (
        "a='C:\\\\logs\\\\'\nb='x y'",
        Ok(&[("a", "C:\\logs\\"), ("b", "x y")]),
        true,
    ),
    ("a=\"\\\\\\\"\"", Ok(&[("a", "\\\"")]), true),
    (
        "a=\"b\\\"",
        Err((1, ParseError::UnterminatedDoubleQuote)),
        true,
    ),
    (
        "a='b\\'",
        Err((1, ParseError::UnterminatedSingleQuote)),
        true,
    ),
    (
        "a=\"x\\\"\nb=1",
        Err((1, ParseError::UnterminatedDoubleQuote)),
        true,
    ),
    (
        "a=\"b\\\"\nc=\"d",
        Err((1, ParseError::TextAfterQuote)),
        true,
    ),
    ("a=\"x\\\ny\"", Ok(&[("a", "x\\\ny")]), true),
    // Lines that cannot be read.
    ("a: b", Err((1, ParseError::ExpectedEquals)), true),
    ("a b=c", Err((1, ParseError::ExpectedEquals)), true),
    ("=b", Err((1, ParseError::MissingKey)), true),
    ("x=1\n=b", Err((2, ParseError::MissingKey)), true),
    ("export =1", Err((1, ParseError::MissingKey)), true),
    ("a=\"b", Err((1, ParseError::UnterminatedDoubleQuote)), true),
    (
        "x=1\n\na='b\nc=d",
        Err((3, ParseError::UnterminatedSingleQuote)),
        true,
    ),
    ("'a=b", Err((1, ParseError::UnterminatedSingleQuote)), true),
    ("''=b", Err((1, ParseError::MissingKey)), true),
    ("a='b' c", Err((1, ParseError::TextAfterQuote)), true),
    ("a=\"b\"c", Err((1, ParseError::TextAfterQuote)), true),
    ("{\"json\": 1}", Err((1, ParseError::ExpectedEquals)), true),
];

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----";

/// A file as a real project has it, and what it reads as.
fn real_world() -> (String, Vec<(&'static str, String)>) {
    let text = format!(
        "\u{feff}# Local settings -- do not commit\r\n\
         export DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app?sslmode=require\r\n\
         REDIS_URL=redis://:p%40ss@cache:6379/0 # the cache\r\n\
         \r\n\
         PRIVATE_KEY=\"{}\"\r\n\
         GOOGLE_CREDENTIALS='{{\"type\": \"service_account\", \"project_id\": \"demo\", \"scopes\": [\"a\", \"b\"]}}'\r\n\
         CALLBACK_URL=https://example.com/cb?next=/home&lang=en#section\r\n\
         SPACED_URL=https://example.com/a #fragment-looking comment\r\n\
         PASSWORD='pa$$w0rd#1'\r\n\
         EMPTY=\r\n\
         GREETING=\"Hello, \\\"world\\\"\\n\"\r\n",
        PEM.replace('\n', "\\n")
    );
    let expected = vec![
        (
            "DATABASE_URL",
            "postgres://app:s3cr3t@db.internal:5432/app?sslmode=require".to_owned(),
        ),
        ("REDIS_URL", "redis://:p%40ss@cache:6379/0".to_owned()),
        ("PRIVATE_KEY", PEM.to_owned()),
        (
            "GOOGLE_CREDENTIALS",
            "{\"type\": \"service_account\", \"project_id\": \"demo\", \"scopes\": [\"a\", \"b\"]}"
                .to_owned(),
        ),
        (
            "CALLBACK_URL",
            "https://example.com/cb?next=/home&lang=en#section".to_owned(),
        ),
        ("SPACED_URL", "https://example.com/a".to_owned()),
        ("PASSWORD", "pa$$w0rd#1".to_owned()),
        ("EMPTY", String::new()),
        ("GREETING", "Hello, \"world\"\n".to_owned()),
    ];
    (text, expected)
}

fn owned(values: &[(&str, &str)]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn conformance_vectors() {
    for (text, expected, _) in VECTORS {
        let expected = expected.as_ref().map(|v| owned(v)).map_err(|e| *e);
        assert_eq!(read_str(text), expected, "reading {text:?}");
    }
}

#[test]
fn real_world_file() {
    let (text, expected) = real_world();
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(read_str(&text).unwrap(), expected);
    // A multi-line PEM key as people paste it, in double quotes.
    let pasted = format!("KEY=\"{PEM}\"\nNEXT=1\n");
    assert_eq!(
        read_str(&pasted).unwrap(),
        owned(&[("KEY", PEM), ("NEXT", "1")])
    );
}

fn key_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

/// Values of every kind: arbitrary Unicode, and the characters that matter to the dialect.
fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just('\''),
                Just('"'),
                Just('\\'),
                Just('#'),
                Just('$'),
                Just(' '),
                Just('\t'),
                Just('\n'),
                Just('\r'),
                Just('='),
                Just('\u{a0}'),
                Just('\u{1c}'),
                Just('a'),
                Just('é'),
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect()),
    ]
}

fn map_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::btree_map(key_strategy(), value_strategy(), 0..8)
        .prop_map(|map| map.into_iter().collect())
}

fn write(entries: &[(String, String)]) -> Result<String, stagecraft_providers::envfile::Error> {
    write_string(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn read_of_write_is_identity(entries in map_strategy()) {
        let text = write(&entries).unwrap();
        prop_assert_eq!(read_str(&text).unwrap(), entries);
    }
}

/// What python-dotenv made of one file: whether it hit an error, and the keys and values it read.
type PythonReading = (bool, Vec<(String, String)>);

/// Runs python-dotenv over files, returning for each whether it hit an error and what it read.
fn python_dotenv(files: &[String]) -> Option<Vec<PythonReading>> {
    const SCRIPT: &str = r#"
import tempfile
out = []
with tempfile.TemporaryDirectory() as d:
    for i, text in enumerate(json.load(sys.stdin)):
        path = os.path.join(d, f"{i}.env")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        with open(path, encoding="utf-8") as f:
            error = any(b.error for b in parse_stream(f))
        values = [[k, v] for k, v in dotenv_values(path, interpolate=False).items() if v is not None]
        out.append([error, values])
json.dump(out, sys.stdout)
"#;
    support::run_python(SCRIPT, &files)
}

#[test]
fn python_dotenv_reads_the_vectors_the_same_way() {
    let shared: Vec<_> = VECTORS.iter().filter(|(_, _, same)| *same).collect();
    let texts: Vec<String> = shared
        .iter()
        .map(|(text, _, _)| (*text).to_owned())
        .collect();
    let Some(results) = python_dotenv(&texts) else {
        return;
    };
    for ((text, expected, _), (python_error, python_values)) in shared.iter().zip(results) {
        match expected {
            Ok(values) => {
                assert!(!python_error, "python-dotenv fails on {text:?}");
                assert_eq!(
                    python_values,
                    owned(values),
                    "python-dotenv reads {text:?} differently"
                );
            }
            Err(_) => assert!(python_error, "python-dotenv reads {text:?} without error"),
        }
    }
}

#[test]
fn python_dotenv_reads_back_what_we_write() {
    let (real, real_values) = real_world();
    let mut cases: Vec<Vec<(String, String)>> = vec![
        real_values
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        read_str(&real).unwrap(),
    ];
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    while cases.len() < 400 {
        cases.push(map_strategy().new_tree(&mut runner).unwrap().current());
    }
    let files: Vec<String> = cases.iter().map(|c| write(c).unwrap()).collect();
    let Some(results) = python_dotenv(&files) else {
        return;
    };
    for ((entries, file), (error, values)) in cases.iter().zip(&files).zip(results) {
        assert!(!error, "python-dotenv fails on {file:?}");
        assert_eq!(&values, entries, "python-dotenv reads {file:?} differently");
    }
}

/// Inputs the fuzzer (`fuzz/`) found, kept as a regression test of its property: what the
/// reader reads survives a write and a second read unchanged.
#[test]
fn fuzz_regressions_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let values = read_str(&text).unwrap();
        let written = write(&values).unwrap();
        assert_eq!(
            read_str(&written).unwrap(),
            values,
            "round trip of {written:?}"
        );
        checked += 1;
    }
    assert!(checked > 0);
}
