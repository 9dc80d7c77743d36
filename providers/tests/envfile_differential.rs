//! The differential test: 10,000 random source and target files built from the dialect's
//! constructs (empty values, comments after values, `KEY= # comment`, backslashes before closing
//! quotes, multi-line values, every line ending, keys redefined or left valueless), each synced
//! for real, and every target checked with python-dotenv 1.2.4: it must read as the target as
//! python-dotenv read it before, with the source's values set and, with `--prune`, the keys the
//! source lacks gone. All files go through one python process.

use stagecraft_providers::envfile::{read_str, sync_files, valued_keys};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

mod support;

const CASES: usize = 10_000;

/// A small deterministic generator (splitmix64), so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &["API_KEY", "DB_URL", "LOG_DIR", "TOKEN", "A", "b_2"];

/// Values as strings; each is written in a form picked at random.
const VALUES: &[&str] = &[
    "",
    "plain",
    "two words",
    "x#y",
    "#hash",
    "C:\\dir\\",
    "C:\\logs\\\\",
    "\\",
    "it's",
    "say \"hi\"",
    "multi\nline",
    "ends with newline\n",
    "tab\tinside",
    "$HOME/${USER}",
    "é ü 鍵",
    " padded ",
    "a \\\" b",
    "back\\slash",
    "rotate # not a comment",
];

/// A value in one of the forms that reads back as it, or `None` when the chosen form cannot
/// hold it. `line_ending` is used for raw line breaks inside quotes.
fn written(rng: &mut Rng, value: &str, line_ending: &str) -> Option<String> {
    match rng.below(3) {
        // Bare: one line, no surrounding spaces, no quote first, no ` #`.
        0 => {
            let space = |c: char| c.is_whitespace();
            let bare = !value.contains(['\n', '\r'])
                && !value.starts_with(['\'', '"'])
                && !value.starts_with(space)
                && !value.ends_with(space)
                && !value
                    .char_indices()
                    .any(|(i, c)| c == '#' && value[..i].ends_with(space));
            bare.then(|| value.to_owned())
        }
        // Single quotes: `\\` and `\'` are the escapes.
        1 => Some(format!(
            "'{}'",
            value
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('\n', line_ending)
        )),
        // Double quotes: line breaks raw or escaped.
        _ => {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            let breaks = if rng.chance(50) {
                escaped.replace('\n', "\\n")
            } else {
                escaped.replace('\n', line_ending)
            };
            Some(format!("\"{breaks}\""))
        }
    }
}

/// A random env file.
fn file(rng: &mut Rng) -> String {
    let line_ending = *rng.pick(&["\n", "\n", "\r\n", "\r"]);
    let mut text = String::new();
    if rng.chance(5) {
        text.push('\u{feff}');
    }
    for _ in 0..rng.below(7) {
        let key = *rng.pick(KEYS);
        let export = if rng.chance(20) { "export " } else { "" };
        match rng.below(10) {
            0 => text.push_str("# a comment"),
            1 => {}
            // A valueless key.
            2 => {
                text.push_str(export);
                text.push_str(key);
                if rng.chance(30) {
                    text.push_str(" # no value");
                }
            }
            // `KEY= # comment`: an empty value.
            3 => {
                text.push_str(&format!("{export}{key}= # rotate monthly"));
            }
            _ => {
                let value = *rng.pick(VALUES);
                let Some(form) = written(rng, value, line_ending) else {
                    continue;
                };
                let equals = *rng.pick(&["=", "=", " = ", "= "]);
                // `KEY= #x` would be an empty value.
                let equals = if form.starts_with('#') { "=" } else { equals };
                text.push_str(&format!("{export}{key}{equals}{form}"));
                let quoted = form.starts_with(['\'', '"']);
                match rng.below(4) {
                    0 => text.push_str("  # keep this note"),
                    1 if quoted => text.push_str("#note"),
                    _ => {}
                }
            }
        }
        text.push_str(line_ending);
    }
    if rng.chance(20) {
        text.truncate(text.trim_end_matches(['\r', '\n']).len());
    }
    text
}

struct Case {
    dir: PathBuf,
    keys: Vec<String>,
    prune: bool,
}

impl Case {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// What python-dotenv read from each file: `None` for a parse error, else its keys with their
/// values (`None` for a valueless key).
type Reading = Option<BTreeMap<String, Option<String>>>;

fn python_read(paths: &[PathBuf]) -> Option<Vec<Reading>> {
    const SCRIPT: &str = r#"
out = []
for path in json.load(sys.stdin):
    if not os.path.exists(path):
        out.append({})
        continue
    with open(path, encoding="utf-8") as f:
        error = any(b.error for b in parse_stream(f))
    out.append(None if error else dotenv_values(path, interpolate=False))
json.dump(out, sys.stdout)
"#;
    let paths: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    support::run_python(SCRIPT, &paths)
}

/// A directory on a RAM file system when there is one: the syncs flush to disk, and 20,000
/// flushes on a real disk would take minutes.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

#[test]
fn python_dotenv_reads_every_synced_target_as_planned() {
    let scratch = scratch();
    let mut rng = Rng(0x5eed_0007);
    let mut cases = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let source = file(&mut rng);
        let target = file(&mut rng);
        let dir = scratch.path().join(i.to_string());
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("source.env"), &source).unwrap();
        fs::write(dir.join("before.env"), &target).unwrap();
        let keys = match read_str(&source) {
            Ok(values) if rng.chance(15) && !values.is_empty() => values
                .iter()
                .filter(|_| rng.chance(50))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        };
        let case = Case {
            dir,
            keys,
            prune: rng.chance(25),
        };
        // A quarter of the targets do not exist yet.
        if rng.chance(75) {
            fs::write(case.path("target.env"), &target).unwrap();
        } else {
            fs::write(case.path("before.env"), "").unwrap();
        }
        if let Err(error) = sync_files(
            &case.path("source.env"),
            &case.path("target.env"),
            &case.keys,
            false,
            case.prune,
        ) {
            panic!("case {i}: sync failed: {error}\nsource {source:?}\ntarget {target:?}");
        }
        cases.push(case);
    }
    let paths: Vec<PathBuf> = cases
        .iter()
        .flat_map(|c| ["source.env", "before.env", "target.env"].map(|name| c.path(name)))
        .collect();
    let Some(readings) = python_read(&paths) else {
        return;
    };
    for (i, (case, reading)) in cases.iter().zip(readings.chunks(3)).enumerate() {
        let show = |name| fs::read_to_string(case.path(name)).unwrap_or_default();
        let context = || {
            format!(
                "case {i} (keys {:?}, prune {}):\nsource {:?}\nbefore {:?}\nafter  {:?}",
                case.keys,
                case.prune,
                show("source.env"),
                show("before.env"),
                show("target.env")
            )
        };
        let [Some(source), Some(before), after] = reading else {
            panic!("python-dotenv cannot read an input of {}", context());
        };
        let Some(after) = after else {
            panic!("python-dotenv cannot read the target of {}", context());
        };
        let mut planned = before.clone();
        for (key, value) in source {
            if value.is_some() && (case.keys.is_empty() || case.keys.contains(key)) {
                planned.insert(key.clone(), value.clone());
            }
        }
        if case.prune {
            // A target key that no statement gives a value (a line without `=`) is left.
            let before_text = show("before.env");
            let valued = valued_keys(&before_text).unwrap();
            planned.retain(|key, _| source.contains_key(key) || !valued.contains(&key.as_str()));
        }
        assert_eq!(after, &planned, "{}", context());
        assert!(
            fs::read_dir(&case.dir).unwrap().count() <= 3,
            "no temporary file is left: {}",
            context()
        );
    }
}
