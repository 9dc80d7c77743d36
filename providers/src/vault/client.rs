//! The servers of one Vault or OpenBao cluster, spoken to over HTTP (the few KV v2 calls a sync
//! needs). Each request goes to the server that last answered, and moves on to the next one when
//! a server is down, sealed, a standby without a leader, or too slow; one time budget bounds
//! the whole operation, and each request gets what is left of it (a share of it while a server
//! has not answered yet, so that one hung server cannot spend it all). An answer that asking
//! again cannot change (permission denied, a TLS failure, a request over the server's limits)
//! ends the operation at once.

use super::Error;
use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value, json};
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One KV v2 secret as read: its fields and the version they are at.
#[derive(Default)]
pub(super) struct Secret {
    /// Whether the latest version was read (false: no secret, or its latest version deleted).
    pub(super) found: bool,
    /// The current version (0: the secret was never written).
    pub(super) version: u64,
    pub(super) fields: Map<String, Value>,
}

/// Why one request to one server failed. Never holds a value or the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Nothing listens at the address.
    Refused,
    /// No answer in the time the request had.
    Timeout,
    /// The server is sealed.
    Sealed,
    /// The token (or AppRole login) may not do what was asked.
    PermissionDenied {
        /// What was asked, such as `read secret/data/myapp/staging`.
        what: String,
        /// What the server said.
        messages: Vec<String>,
    },
    /// The secret's version is not the one the write expected.
    CasMismatch,
    /// The server's certificate was refused (not signed by a trusted CA, another host's).
    Tls(String),
    /// An `https://` address whose server does not speak TLS.
    NotTls,
    /// An `http://` address whose server speaks only TLS.
    TlsRequired,
    /// The request has more JSON strings than the server's listener takes.
    TooManyStrings(Vec<String>),
    /// The connection could not be made.
    CannotConnect,
    /// The connection was lost before the answer came.
    Lost,
    /// The server answered with an error status.
    Status(u16, Vec<String>),
    /// The answer is not what a KV v2 engine answers.
    Unexpected,
}

impl Reason {
    /// Whether another server, or the same one a moment later, may succeed.
    fn is_transient(&self) -> bool {
        match self {
            Reason::Refused
            | Reason::Timeout
            | Reason::Sealed
            | Reason::CannotConnect
            | Reason::Lost => true,
            // 5xx: no leader yet, a standby that cannot forward; 429: a standby catching up or
            // a rate limit; 3xx: a standby that redirects to the active node.
            Reason::Status(status, _) => *status >= 500 || *status == 429 || *status / 100 == 3,
            Reason::PermissionDenied { .. }
            | Reason::CasMismatch
            | Reason::Tls(_)
            | Reason::NotTls
            | Reason::TlsRequired
            | Reason::TooManyStrings(_)
            | Reason::Unexpected => false,
        }
    }
}

/// Vault's messages describe the request, never the secret's data; each is cut short anyway.
fn write_messages(f: &mut fmt::Formatter<'_>, messages: &[String]) -> fmt::Result {
    if messages.is_empty() {
        return Ok(());
    }
    let text = messages.join("; ");
    let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.len() > 300 {
        let mut end = 300;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    write!(f, " ({text})")
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Refused => f.write_str("connection refused"),
            Reason::Timeout => f.write_str("timed out"),
            Reason::Sealed => f.write_str("server is sealed"),
            Reason::PermissionDenied { what, messages } => {
                write!(f, "permission denied to {what}")?;
                // The server's own "permission denied" says nothing more.
                let more: Vec<String> = messages
                    .iter()
                    .filter(|m| !m.trim().eq_ignore_ascii_case("permission denied"))
                    .cloned()
                    .collect();
                write_messages(f, &more)?;
                f.write_str(": the token's policies do not allow it, or the token is expired, revoked or read-only (`bao token lookup` or `vault token lookup` shows which)")
            }
            Reason::CasMismatch => f.write_str("check-and-set mismatch"),
            Reason::Tls(what) => write!(
                f,
                "TLS failed: {what} (a server certificate signed by a private CA needs `ca_file` or VAULT_CACERT; a certificate for another host name needs the address to use a name it holds)"
            ),
            Reason::NotTls => f.write_str(
                "TLS failed: the server does not speak TLS there (received corrupt message); write the address with http://, or use the TLS listener's port",
            ),
            Reason::TlsRequired => f.write_str(
                "the server speaks only TLS there (it answered \"Client sent an HTTP request to an HTTPS server\"); write the address with https://",
            ),
            Reason::TooManyStrings(m) => {
                f.write_str("request refused as too large")?;
                write_messages(f, m)
            }
            Reason::CannotConnect => f.write_str("cannot connect"),
            Reason::Lost => f.write_str("connection lost before the answer"),
            Reason::Unexpected => f.write_str(
                "unexpected answer, not that of a KV version 2 secrets engine (is `mount` one?)",
            ),
            Reason::Status(status, m) => {
                write!(f, "server error {status}")?;
                write_messages(f, m)
            }
        }
    }
}

/// A failed request, with the server it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The server's address.
    pub address: String,
    /// Why it failed.
    pub reason: Reason,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.address, self.reason)
    }
}

/// A request that failed without an answer, and whether it may have reached the server.
struct NoAnswer {
    reason: Reason,
    may_have_arrived: bool,
}

fn no_answer(error: &reqwest::Error) -> NoAnswer {
    let reason = if error.is_timeout() {
        Reason::Timeout
    } else if let Some(tls) = tls_error(error) {
        match tls {
            rustls::Error::InvalidMessage(_) => Reason::NotTls,
            other => Reason::Tls(other.to_string()),
        }
    } else if is_refused(error) {
        Reason::Refused
    } else if error.is_connect() {
        Reason::CannotConnect
    } else {
        Reason::Lost
    };
    // A connection that was never made carried nothing.
    let may_have_arrived = !error.is_connect() && matches!(reason, Reason::Timeout | Reason::Lost);
    NoAnswer {
        reason,
        may_have_arrived,
    }
}

fn is_refused(error: &reqwest::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The rustls error, when TLS failed (it tells no request or response data).
fn tls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // An `io::Error`'s `source` skips the error it wraps (itself often an `io::Error`).
        cause = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &dyn std::error::Error),
            None => e.source(),
        };
    }
    None
}

/// What an error status means.
fn status_reason(status: u16, body: &[u8], what: &str) -> Reason {
    let messages: Option<Vec<String>> =
        serde_json::from_slice::<Value>(body).ok().and_then(|doc| {
            let errors = doc.get("errors")?.as_array()?;
            Some(
                errors
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect(),
            )
        });
    let Some(messages) = messages else {
        // Go's TLS listener answers a plain HTTP request with this text.
        if status == 400 && body.starts_with(b"Client sent an HTTP request to an HTTPS server") {
            return Reason::TlsRequired;
        }
        // Not Vault's JSON (a proxy's page, say): it is not shown.
        return Reason::Status(status, Vec::new());
    };
    let says = |text: &str| messages.iter().any(|m| m.contains(text));
    match status {
        403 => Reason::PermissionDenied {
            what: what.to_owned(),
            messages,
        },
        503 if says("sealed") => Reason::Sealed,
        400 if says("check-and-set") => Reason::CasMismatch,
        400 if says("maximum number of strings") || says("high complexity") => {
            Reason::TooManyStrings(messages)
        }
        413 => Reason::TooManyStrings(messages),
        _ => Reason::Status(status, messages),
    }
}

/// How to reach and authenticate to the cluster.
pub(super) struct Settings<'a> {
    pub(super) addresses: &'a [String],
    pub(super) token: Option<String>,
    pub(super) namespace: Option<&'a str>,
    pub(super) ca_file: Option<&'a Path>,
    pub(super) timeout: Duration,
}

struct Server {
    address: String,
    /// Whether it answered during this operation: then it gets all the time left, not a share.
    answered: AtomicBool,
}

/// An answer with a status.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// One request: `path` is under `/v1/`; `what` says what it does, for errors.
struct Request<'a> {
    method: Method,
    path: String,
    body: Option<&'a [u8]>,
    what: String,
    /// Whether a standby is asked to forward it to the active node (all but `sys/health`).
    forward: bool,
}

impl Request<'_> {
    fn read(path: String, what: String) -> Request<'static> {
        Request {
            method: Method::GET,
            path,
            body: None,
            what,
            forward: true,
        }
    }
}

/// The servers of one cluster, for one operation (one sync).
pub(super) struct Servers {
    http: reqwest::Client,
    servers: Vec<Server>,
    token: Option<HeaderValue>,
    namespace: Option<HeaderValue>,
    /// The server that answered last, tried first.
    preferred: AtomicUsize,
    timeout: Duration,
    deadline: Instant,
    /// The cluster's ID, from an `X-Vault-Index` answer header (OpenBao with a standby-read
    /// storage such as raft); unknown on a dev server or Vault, which then get no such header.
    cluster: OnceLock<String>,
}

/// A header value the client never shows (reqwest leaves it out of `Debug`).
fn secret_header(value: &str) -> Result<HeaderValue, Error> {
    let mut header = HeaderValue::from_str(value).map_err(|_| Error::Auth {
        message: "the vault token holds a character an HTTP header cannot".into(),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

impl Servers {
    /// The time budget starts now.
    pub(super) fn new(settings: Settings<'_>) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider, so that aws-lc-rs is not built.
        // rustls 0.23.48 deprecates ring's provider as it has no post-quantum key exchange
        // (X25519MLKEM768); ring stays for now, for the build's weight: switching to aws-lc-rs
        // is the way to post-quantum TLS, at the cost of a C build of aws-lc.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            // A redirect would carry the token to an address the config does not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("stagecraft/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = settings.ca_file {
            // A file without a PEM certificate would be an empty bundle that trusts nothing.
            let certificates = std::fs::read(path)
                .ok()
                .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Error::CaFile {
                    path: path.display().to_string(),
                })?;
            // As the Vault CLI does with VAULT_CACERT: these CAs, not the system's.
            builder = builder.tls_certs_only(certificates);
        } else if !settings.addresses.iter().any(|a| {
            a.get(..6)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https:"))
        }) {
            // Loading the system's CAs takes milliseconds that plain HTTP does not need.
            builder = builder.tls_certs_only([]);
        }
        let http = builder.build().map_err(|_| Error::CaFile {
            path: settings
                .ca_file
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        })?;
        let namespace = settings
            .namespace
            .map(|ns| {
                HeaderValue::from_str(ns).map_err(|_| Error::Auth {
                    message: "the vault namespace holds a character an HTTP header cannot".into(),
                })
            })
            .transpose()?;
        Ok(Servers {
            http,
            servers: settings
                .addresses
                .iter()
                .map(|a| Server {
                    address: a.trim_end_matches('/').to_owned(),
                    answered: AtomicBool::new(false),
                })
                .collect(),
            token: settings.token.as_deref().map(secret_header).transpose()?,
            namespace,
            preferred: AtomicUsize::new(0),
            timeout: settings.timeout,
            deadline: Instant::now() + settings.timeout,
            cluster: OnceLock::new(),
        })
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The time one request to `server` may take, with `untried` servers (itself included)
    /// still to try in this round: a share of what is left while it has not answered in this
    /// sync; once it has, most of it (all of it when it is the last to try), so that a server
    /// that hangs after answering still leaves the others some time.
    fn budget(&self, server: &Server, untried: usize) -> Duration {
        let remaining = self.remaining();
        match (server.answered.load(Ordering::Relaxed), untried) {
            (_, 0 | 1) => remaining,
            (true, _) => remaining - remaining / 4,
            (false, untried) => remaining / u32::try_from(untried).unwrap_or(u32::MAX),
        }
    }

    /// Sends `request` to one server, within `budget`.
    async fn send(
        &self,
        server: &Server,
        request: &Request<'_>,
        budget: Duration,
    ) -> Result<Answer, NoAnswer> {
        if budget.is_zero() {
            return Err(NoAnswer {
                reason: Reason::Timeout,
                may_have_arrived: false,
            });
        }
        let url = format!("{}/v1/{}", server.address, request.path);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .timeout(budget)
            .header("X-Vault-Request", "true");
        if let Some(token) = &self.token {
            builder = builder.header("X-Vault-Token", token.clone());
        }
        if let Some(namespace) = &self.namespace {
            builder = builder.header("X-Vault-Namespace", namespace.clone());
        }
        if let Some(cluster) = self.cluster.get().filter(|_| request.forward) {
            // OpenBao's conditional forwarding: a standby that has not seen the index forwards
            // the request to the active node, which answers itself. No node has seen this one,
            // so every standby forwards: a read sees what the active node holds, and a write's
            // check-and-set is checked there too (a lagging standby checks it against its own
            // stale copy, and refuses it).
            builder = builder
                .header("X-Vault-Index", unseen_index(cluster))
                .header("X-Vault-Inconsistent", "forward-active-node");
        }
        if let Some(body) = request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = builder.send().await.map_err(|e| no_answer(&e))?;
        let status = response.status().as_u16();
        if let Some(index) = response.headers().get("X-Vault-Index") {
            self.learn_cluster(index);
        }
        match response.bytes().await {
            Ok(body) => Ok(Answer {
                status,
                body: body.to_vec(),
            }),
            Err(e) => Err(NoAnswer {
                may_have_arrived: true,
                ..no_answer(&e)
            }),
        }
    }

    fn learn_cluster(&self, index: &HeaderValue) {
        if self.cluster.get().is_some() {
            return;
        }
        let cluster = base64::engine::general_purpose::STANDARD
            .decode(index.as_bytes())
            .ok()
            .and_then(|json| serde_json::from_slice::<Value>(&json).ok())
            .and_then(|doc| doc.get("cluster")?.as_str().map(str::to_owned));
        if let Some(cluster) = cluster {
            let _ = self.cluster.set(cluster);
        }
    }

    /// Runs `request` on the servers in turn until one gives an answer in `accept`, or the time
    /// budget is spent. A failure that asking again cannot change ends the call.
    async fn call(&self, request: &Request<'_>, accept: &[u16]) -> Result<Answer, Error> {
        let count = self.servers.len();
        let mut last: Vec<Option<Reason>> = vec![None; count];
        let mut pause = Duration::from_millis(50);
        loop {
            let first = self.preferred.load(Ordering::Relaxed);
            for step in 0..count {
                let at = (first + step) % count;
                let server = &self.servers[at];
                let budget = self.budget(server, count - step);
                if budget.is_zero() {
                    // Time is up: each server keeps the failure it had.
                    last[at].get_or_insert(Reason::Timeout);
                    continue;
                }
                let reason = match self.send(server, request, budget).await {
                    Ok(answer) => {
                        server.answered.store(true, Ordering::Relaxed);
                        self.preferred.store(at, Ordering::Relaxed);
                        if accept.contains(&answer.status) {
                            return Ok(answer);
                        }
                        status_reason(answer.status, &answer.body, &request.what)
                    }
                    Err(failed) => failed.reason,
                };
                tracing::debug!(address = server.address, %reason, "vault request failed");
                if !reason.is_transient() {
                    return Err(Error::Server(Attempt {
                        address: server.address.clone(),
                        reason,
                    }));
                }
                last[at] = Some(reason);
            }
            let remaining = self.remaining();
            if remaining.is_zero() {
                break;
            }
            tokio::time::sleep(pause.min(remaining)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
        Err(Error::Unavailable {
            timeout: self.timeout,
            attempts: self.attempts(last),
        })
    }

    fn attempts(&self, last: Vec<Option<Reason>>) -> Vec<Attempt> {
        self.servers
            .iter()
            .zip(last)
            .filter_map(|(server, reason)| {
                Some(Attempt {
                    address: server.address.clone(),
                    reason: reason?,
                })
            })
            .collect()
    }

    /// Logs in with AppRole and uses the token it returns from now on.
    pub(super) async fn login_approle(
        &mut self,
        mount: &str,
        role_id: &str,
        secret_id: &str,
    ) -> Result<(), Error> {
        let body = serde_json::to_vec(&json!({ "role_id": role_id, "secret_id": secret_id }))
            .map_err(|_| Error::Server(self.unexpected()))?;
        let path = format!("auth/{mount}/login");
        let request = Request {
            method: Method::POST,
            what: format!("log in at {path}"),
            path,
            body: Some(&body),
            forward: true,
        };
        let answer = self.call(&request, &[200]).await?;
        let token = parse(&answer.body)
            .and_then(|doc| {
                doc.pointer("/auth/client_token")?
                    .as_str()
                    .map(str::to_owned)
            })
            .ok_or_else(|| Error::Server(self.unexpected()))?;
        self.token = Some(secret_header(&token)?);
        Ok(())
    }

    fn unexpected(&self) -> Attempt {
        let at = self.preferred.load(Ordering::Relaxed);
        Attempt {
            address: self.servers[at].address.clone(),
            reason: Reason::Unexpected,
        }
    }

    /// Checks that `mount` is a KV version 2 engine, as the Vault CLI finds out (a KV version
    /// 1 mount takes a KV v2 write as a secret of its own at `<mount>/data/<path>`). A token
    /// that may not ask is let through: its requests will say what it may not do.
    pub(super) async fn check_mount(&self, mount: &str, path: &str) -> Result<(), Error> {
        let request = Request::read(
            format!("sys/internal/ui/mounts/{mount}/{path}"),
            format!("read the mount of {mount}/{path}"),
        );
        let answer = self.call(&request, &[200, 403, 404]).await?;
        if answer.status != 200 {
            tracing::debug!(
                mount,
                status = answer.status,
                "the mount's engine cannot be read"
            );
            return Ok(());
        }
        let doc = parse(&answer.body).ok_or_else(|| Error::Server(self.unexpected()))?;
        let engine = doc.pointer("/data/type").and_then(Value::as_str);
        let version = doc.pointer("/data/options/version").and_then(Value::as_str);
        let found = doc
            .pointer("/data/path")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim_matches('/');
        match (engine, version) {
            (Some("kv"), Some("2")) if found == mount => Ok(()),
            (Some("kv"), Some("2")) => Err(Error::NotMountPath {
                mount: mount.to_owned(),
                found: found.to_owned(),
            }),
            (Some("kv"), _) => Err(Error::KvVersion1 {
                mount: mount.to_owned(),
            }),
            (engine, _) => Err(Error::NotKv {
                mount: mount.to_owned(),
                engine: engine.unwrap_or("unknown").to_owned(),
            }),
        }
    }

    /// Reads the latest version of the secret at `path`.
    pub(super) async fn read(&self, mount: &str, path: &str) -> Result<Secret, Error> {
        let what = format!("read {mount}/data/{path}");
        let request = Request::read(format!("{mount}/data/{path}"), what);
        let answer = self.call(&request, &[200, 404]).await?;
        let doc = parse(&answer.body);
        if answer.status == 200 {
            let doc = doc.ok_or_else(|| Error::Server(self.unexpected()))?;
            let version = doc
                .pointer("/data/metadata/version")
                .and_then(Value::as_u64);
            let (Some(version), Some(data)) = (version, doc.pointer("/data/data")) else {
                return Err(Error::Server(self.unexpected()));
            };
            return Ok(match data {
                Value::Object(fields) => Secret {
                    found: true,
                    version,
                    fields: fields.clone(),
                },
                // A destroyed latest version.
                _ => Secret {
                    found: false,
                    version,
                    fields: Map::new(),
                },
            });
        }
        // A deleted latest version: a 404 that holds its metadata.
        if let Some(version) = doc
            .as_ref()
            .and_then(|d| d.pointer("/data/metadata/version")?.as_u64())
        {
            return Ok(Secret {
                found: false,
                version,
                fields: Map::new(),
            });
        }
        // No version to read; the metadata may still hold a version count (all destroyed).
        let request = Request::read(
            format!("{mount}/metadata/{path}"),
            format!("read {mount}/metadata/{path}"),
        );
        // A policy may grant the data path only: then a version deleted by hand shows as a
        // check-and-set mismatch at the write.
        let answer = self.call(&request, &[200, 403, 404]).await?;
        let version = match answer.status {
            200 => parse(&answer.body)
                .and_then(|d| d.pointer("/data/current_version")?.as_u64())
                .ok_or_else(|| Error::Server(self.unexpected()))?,
            _ => 0,
        };
        Ok(Secret {
            found: false,
            version,
            fields: Map::new(),
        })
    }

    /// The fields of one version, `None` when it is deleted, destroyed or missing.
    async fn read_version(
        &self,
        mount: &str,
        path: &str,
        version: u64,
    ) -> Result<Option<Map<String, Value>>, Error> {
        let request = Request::read(
            format!("{mount}/data/{path}?version={version}"),
            format!("read version {version} of {mount}/data/{path}"),
        );
        let answer = self.call(&request, &[200, 404]).await?;
        if answer.status != 200 {
            return Ok(None);
        }
        Ok(
            parse(&answer.body).and_then(|doc| match doc.pointer("/data/data") {
                Some(Value::Object(fields)) => Some(fields.clone()),
                _ => None,
            }),
        )
    }

    /// Writes `fields` as the new version of the secret at `path` if its version is still
    /// `planned`, and returns the version written.
    ///
    /// Whether a write was applied is never guessed. A write whose answer was lost (a timeout,
    /// a lost connection, a server error after a standby forwarded it) is settled by reading
    /// the secret again: the write is done when version `planned + 1` holds `fields`, is tried
    /// again (on the next server) while the secret is still at `planned`, and has lost to
    /// another writer when version `planned + 1` holds something else
    /// ([`Error::ChangedSincePlanned`]). When that read fails too, the error says that the write
    /// may have been applied, and which version to check ([`Error::MayHaveBeenApplied`]).
    /// After an interruption it is not tried again ([`Error::Interrupted`]).
    pub(super) async fn write(
        &self,
        mount: &str,
        path: &str,
        fields: &Map<String, Value>,
        planned: u64,
    ) -> Result<u64, Error> {
        let body = serde_json::to_vec(&json!({ "options": { "cas": planned }, "data": fields }))
            .map_err(|_| Error::Server(self.unexpected()))?;
        let secret = format!("{mount}/data/{path}");
        let request = Request {
            method: Method::POST,
            path: secret.clone(),
            body: Some(&body),
            forward: true,
            what: format!("write {secret}"),
        };
        let count = self.servers.len();
        let mut last: Vec<Option<Reason>> = vec![None; count];
        let mut too_large: Vec<Attempt> = Vec::new();
        let mut step = 0;
        // Whether an attempt may have reached the server without its answer reaching us.
        let mut arrived = false;
        loop {
            let at = self.preferred.load(Ordering::Relaxed);
            let server = &self.servers[at];
            // Keep a quarter for the read that settles a lost answer.
            let budget = self.budget(server, count - step % count);
            let budget = budget - budget / 4;
            step += 1;
            let (reason, may_have_arrived) = match self.send(server, &request, budget).await {
                Ok(answer) => {
                    server.answered.store(true, Ordering::Relaxed);
                    if answer.status == 200 {
                        // Applied: a check-and-set write on `planned` makes the next version.
                        return Ok(parse(&answer.body)
                            .and_then(|doc| doc.pointer("/data/version")?.as_u64())
                            .unwrap_or(planned + 1));
                    }
                    let reason = status_reason(answer.status, &answer.body, &request.what);
                    // A 5xx may come from a standby whose forwarded write the active node
                    // applied; the other answers say the write was refused.
                    let arrived = answer.status >= 500 && reason != Reason::Sealed;
                    (reason, arrived)
                }
                Err(failed) => (failed.reason, failed.may_have_arrived),
            };
            tracing::debug!(address = server.address, %reason, "vault write failed");
            let attempt = Attempt {
                address: server.address.clone(),
                reason: reason.clone(),
            };
            if let Reason::TooManyStrings(_) = reason {
                // A standby forwards a write under a limit of its own: the active node, if
                // listed, may take it. Only when every server refused is it the end.
                too_large.retain(|a: &Attempt| a.address != attempt.address);
                last[at] = Some(reason);
                too_large.push(attempt);
                if too_large.len() < count {
                    self.preferred.store((at + 1) % count, Ordering::Relaxed);
                    continue;
                }
                let mut standbys = Vec::new();
                for attempt in &too_large {
                    if self.is_standby(&attempt.address).await {
                        standbys.push(attempt.address.clone());
                    }
                }
                return Err(Error::TooManyKeys {
                    keys: fields.len(),
                    strings: 2 * fields.len() + 3,
                    attempts: too_large,
                    standbys,
                });
            }
            if !reason.is_transient() && reason != Reason::CasMismatch {
                return Err(Error::Server(attempt));
            }
            arrived |= may_have_arrived;
            // A CAS mismatch may follow an earlier attempt that was applied after all.
            if may_have_arrived || reason == Reason::CasMismatch {
                match self.settle(mount, path, fields, planned, arrived).await {
                    Ok(Settled::Applied { version }) => return Ok(version),
                    Ok(Settled::Changed { current }) => {
                        return Err(Error::ChangedSincePlanned { planned, current });
                    }
                    Ok(Settled::NotApplied) if reason == Reason::CasMismatch => {
                        // The server's version is not the one read, which a retry cannot
                        // change: a token that may not read the metadata of a secret whose
                        // latest version was deleted sees version 0.
                        return Err(Error::Server(attempt));
                    }
                    Ok(Settled::NotApplied) => {}
                    Err(error) if arrived => {
                        return Err(Error::MayHaveBeenApplied {
                            secret,
                            version: planned + 1,
                            lost: attempt,
                            settling: Box::new(error),
                        });
                    }
                    Err(error) => return Err(error),
                }
            }
            if stagecraft_core::interrupt::is_requested() {
                // Ctrl-C came during the write; nothing was applied (no answer was lost, or
                // the read above showed the version unchanged).
                return Err(Error::Interrupted);
            }
            last[at] = Some(reason);
            let remaining = self.remaining();
            if remaining.is_zero() {
                let unavailable = Error::Unavailable {
                    timeout: self.timeout,
                    attempts: self.attempts(last),
                };
                // A write in flight when its answer was lost may still be applied.
                if arrived {
                    return Err(Error::MayHaveBeenApplied {
                        secret,
                        version: planned + 1,
                        lost: attempt,
                        settling: Box::new(unavailable),
                    });
                }
                return Err(unavailable);
            }
            self.preferred.store((at + 1) % count, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100).min(remaining)).await;
        }
    }

    /// Whether the server at `address` says it is a standby (`sys/health`), within a second.
    async fn is_standby(&self, address: &str) -> bool {
        let Some(server) = self.servers.iter().find(|s| s.address == address) else {
            return false;
        };
        let request = Request {
            forward: false,
            ..Request::read("sys/health".into(), "read the health".into())
        };
        let budget = self.remaining().min(Duration::from_secs(1));
        match self.send(server, &request, budget).await {
            Ok(answer) => parse(&answer.body)
                .and_then(|doc| doc.get("standby")?.as_bool())
                .unwrap_or(false),
            Err(_) => false,
        }
    }

    /// Reads what became of a write whose answer was lost.
    async fn settle(
        &self,
        mount: &str,
        path: &str,
        fields: &Map<String, Value>,
        planned: u64,
        arrived: bool,
    ) -> Result<Settled, Error> {
        let current = self.read(mount, path).await?;
        if current.version == planned {
            return Ok(Settled::NotApplied);
        }
        if !arrived {
            // Every attempt was refused: none of them wrote.
            return Ok(Settled::Changed {
                current: current.version,
            });
        }
        let next = planned + 1;
        if current.version == next && current.found && current.fields == *fields {
            tracing::info!(version = next, "a write whose answer was lost was applied");
            return Ok(Settled::Applied { version: next });
        }
        // With the check-and-set, this sync's write can only be version `planned + 1`.
        match self.read_version(mount, path, next).await? {
            Some(written) if written == *fields => {
                tracing::warn!(
                    version = next,
                    now = current.version,
                    "this sync's write was applied as version {next}; another writer has changed the secret since (now version {})",
                    current.version
                );
                Ok(Settled::Applied { version: next })
            }
            Some(_) => Ok(Settled::Changed {
                current: current.version,
            }),
            // Deleted or destroyed since: whose it was cannot be read.
            None => Err(Error::Server(Attempt {
                address: self.servers[self.preferred.load(Ordering::Relaxed)]
                    .address
                    .clone(),
                reason: Reason::Status(
                    404,
                    vec![format!(
                        "version {next} cannot be read (deleted or destroyed)"
                    )],
                ),
            })),
        }
    }
}

/// What a read found after a write whose answer was lost.
enum Settled {
    Applied { version: u64 },
    NotApplied,
    Changed { current: u64 },
}

fn parse(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// An `X-Vault-Index` of `cluster` that no node has reached: raft's index is a count of log
/// entries, and this is the largest one.
fn unseen_index(cluster: &str) -> String {
    let index = json!({ "cluster": cluster, "value": u64::MAX.to_string() });
    base64::engine::general_purpose::STANDARD.encode(index.to_string())
}
