//! The servers of one Vault or OpenBao cluster, tried in turn: each request goes to the server
//! that last answered, and moves on to the next one when a server is down, sealed, a standby
//! without a leader, or too slow, until the operation's time budget runs out.

use super::Error;
use serde_json::{Map, Value};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use vaultrs::api::kv2::requests::{ReadSecretRequest, SetSecretRequestOptions};
use vaultrs::client::{Client, VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;

/// One KV v2 secret as read: its fields and the version they are at (0: no secret yet, or
/// its latest version deleted and so empty).
#[derive(Default)]
pub(super) struct Secret {
    /// Whether the latest version was read (false: no secret, or its latest version deleted).
    pub(super) found: bool,
    pub(super) version: u64,
    pub(super) fields: Map<String, Value>,
}

/// Why one request to one server failed. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Nothing listens at the address.
    Refused,
    /// No answer in time.
    Timeout,
    /// The server is sealed.
    Sealed,
    /// The token (or AppRole login) lacks the permission.
    PermissionDenied(Vec<String>),
    /// The secret's version is not the one the write expected.
    CasMismatch,
    /// TLS failed, such as a certificate that no trusted CA signed.
    Tls(String),
    /// The connection failed otherwise, or was lost mid-request.
    Connection(String),
    /// The server answered with an error status.
    Status(u16, Vec<String>),
    /// The answer is not what a KV v2 engine answers (a KV v1 mount, say).
    Unexpected,
}

impl Reason {
    /// Whether another server (or the same one a moment later) may succeed.
    fn is_transient(&self) -> bool {
        match self {
            // Another server of the cluster may have a certificate that is trusted.
            Reason::Refused
            | Reason::Timeout
            | Reason::Sealed
            | Reason::Tls(_)
            | Reason::Connection(_) => true,
            // A standby waiting for a new leader was seen to refuse a large write with this
            // 400 (its listener's `max_request_json_strings` not applied); the next server or
            // the same one a moment later takes it. A request truly over the limit fails when
            // the time budget is spent, with the server's message.
            Reason::Status(400, messages) => messages
                .iter()
                .any(|m| m.contains("maximum number of strings")),
            Reason::Status(status, _) => *status >= 500 || *status == 429,
            // Asking again gets the same answer (and a KV v1 mount takes each write).
            Reason::PermissionDenied(_) | Reason::CasMismatch | Reason::Unexpected => false,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages = |f: &mut fmt::Formatter<'_>, messages: &[String]| {
            if messages.is_empty() {
                Ok(())
            } else {
                // Vault's messages describe the request, never the secret's data.
                let text = messages.join("; ");
                write!(
                    f,
                    " ({})",
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            }
        };
        match self {
            Reason::Refused => f.write_str("connection refused"),
            Reason::Timeout => f.write_str("timed out"),
            Reason::Sealed => f.write_str("server is sealed"),
            Reason::PermissionDenied(m) => {
                f.write_str("permission denied")?;
                messages(f, m)
            }
            Reason::CasMismatch => f.write_str("check-and-set mismatch"),
            Reason::Tls(what) => write!(
                f,
                "TLS failed: {what} (a server certificate signed by a private CA needs `ca_file`)"
            ),
            Reason::Connection(what) => write!(f, "connection failed: {what}"),
            Reason::Unexpected => f.write_str(
                "unexpected answer, not that of a KV version 2 secrets engine (is `mount` one? a KV version 1 mount stores a write at <mount>/data/<path>)",
            ),
            Reason::Status(status, m) => {
                write!(f, "server error {status}")?;
                messages(f, m)?;
                if m.iter().any(|m| m.contains("maximum number of strings")) {
                    // Each key is two strings; OpenBao's listeners take 1,000 by default.
                    f.write_str("; the environment has more keys than the server takes in one request: raise `max_request_json_strings` in its listener config")?;
                }
                Ok(())
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

fn reason_of(error: &ClientError) -> Reason {
    match error {
        ClientError::APIError { code: 403, errors } => Reason::PermissionDenied(errors.clone()),
        ClientError::APIError { code: 503, errors }
            if errors.iter().any(|e| e.contains("sealed")) =>
        {
            Reason::Sealed
        }
        ClientError::APIError { code: 400, errors }
            if errors.iter().any(|e| e.contains("check-and-set")) =>
        {
            Reason::CasMismatch
        }
        ClientError::APIError { code, errors } => Reason::Status(*code, errors.clone()),
        ClientError::RestClientError { source } => match source {
            rustify::errors::ClientError::ServerResponseError { code, .. } => {
                // The body is not Vault's JSON: a proxy's page, say. It is not shown.
                Reason::Status(*code, Vec::new())
            }
            rustify::errors::ClientError::RequestError { source, .. } => {
                match source.downcast_ref::<reqwest::Error>() {
                    Some(e) if e.is_timeout() => Reason::Timeout,
                    Some(e) if is_refused(e) => Reason::Refused,
                    Some(e) if let Some(tls) = tls_error(e) => Reason::Tls(tls),
                    Some(e) if e.is_connect() => Reason::Connection("cannot connect".into()),
                    _ => Reason::Connection("connection lost".into()),
                }
            }
            rustify::errors::ClientError::ResponseParseError { .. }
            | rustify::errors::ClientError::ResponseConversionError { .. } => Reason::Unexpected,
            _ => Reason::Connection("request failed".into()),
        },
        ClientError::ResponseEmptyError
        | ClientError::ResponseDataEmptyError
        | ClientError::JsonParseError { .. } => Reason::Unexpected,
        _ => Reason::Connection("unexpected response".into()),
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

/// What rustls said, when TLS failed (a rustls error tells no request or response data).
fn tls_error(error: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
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

/// How to reach and authenticate to the cluster.
pub(super) struct Settings<'a> {
    pub(super) addresses: &'a [String],
    pub(super) token: Option<String>,
    pub(super) namespace: Option<&'a str>,
    pub(super) ca_file: Option<&'a str>,
    pub(super) timeout: Duration,
}

/// One request to one server. Boxed, since a closure that returns a future borrowing its
/// argument cannot be named otherwise (and async closures' futures cannot be shown `Send`).
type Request<'c, T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send + 'c>>;

/// The servers of one cluster.
pub(super) struct Servers {
    servers: Vec<(String, VaultClient)>,
    /// The server that answered last, tried first.
    preferred: AtomicUsize,
    timeout: Duration,
}

impl Servers {
    pub(super) fn new(settings: Settings<'_>) -> Result<Self, Error> {
        // reqwest is built without a default crypto provider, so that aws-lc-rs is not built.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(path) = settings.ca_file {
            // The client takes a file without a PEM certificate as an empty bundle.
            let certificates = std::fs::read(path)
                .ok()
                .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok());
            if certificates.is_none_or(|c| c.is_empty()) {
                return Err(Error::CaFile {
                    path: path.to_owned(),
                });
            }
        }
        let mut servers = Vec::with_capacity(settings.addresses.len());
        for address in settings.addresses {
            let mut builder = VaultClientSettingsBuilder::default();
            // `address` panics on a bad URL; the config checked each one.
            builder
                .address(address)
                .token(settings.token.clone().unwrap_or_default())
                .timeout(Some(settings.timeout))
                .verify(true)
                .identity(None)
                .ca_certs(settings.ca_file.map(str::to_owned).into_iter().collect());
            if let Some(namespace) = settings.namespace {
                builder.set_namespace(namespace.to_owned());
            }
            let client_settings = builder.build().map_err(|_| Error::BadAddress {
                address: address.clone(),
            })?;
            let client = VaultClient::new(client_settings).map_err(|e| match e {
                ClientError::FileReadError { path, .. }
                | ClientError::ParseCertificateError { path, .. } => Error::CaFile { path },
                _ => Error::BadAddress {
                    address: address.clone(),
                },
            })?;
            servers.push((address.clone(), client));
        }
        Ok(Servers {
            servers,
            preferred: AtomicUsize::new(0),
            timeout: settings.timeout,
        })
    }

    /// Runs `request` on the servers in turn until one answers or the time budget is spent. An
    /// answer that is a lasting failure (permission denied, a CAS mismatch) ends the call.
    async fn call<'a, T, F>(&'a self, request: F) -> Result<T, Error>
    where
        F: Fn(&'a VaultClient) -> Request<'a, T>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut last: Vec<Option<Reason>> = vec![None; self.servers.len()];
        let mut pause = Duration::from_millis(50);
        loop {
            for step in 0..self.servers.len() {
                let at = (self.preferred.load(Ordering::Relaxed) + step) % self.servers.len();
                let (address, client) = &self.servers[at];
                match request(client).await {
                    Ok(value) => {
                        self.preferred.store(at, Ordering::Relaxed);
                        return Ok(value);
                    }
                    Err(e) => {
                        let reason = reason_of(&e);
                        tracing::debug!(address, %reason, "vault request failed");
                        if !reason.is_transient() {
                            self.preferred.store(at, Ordering::Relaxed);
                            return Err(Error::Server(Attempt {
                                address: address.clone(),
                                reason,
                            }));
                        }
                        last[at] = Some(reason);
                    }
                }
            }
            let now = Instant::now();
            if now + pause >= deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
        Err(Error::Unavailable {
            timeout: self.timeout,
            attempts: self
                .servers
                .iter()
                .zip(last)
                .filter_map(|((address, _), reason)| {
                    Some(Attempt {
                        address: address.clone(),
                        reason: reason?,
                    })
                })
                .collect(),
        })
    }

    /// Logs in with AppRole and uses the token it returns from now on.
    pub(super) async fn login_approle(
        &mut self,
        mount: &str,
        role_id: &str,
        secret_id: &str,
    ) -> Result<(), Error> {
        let auth = self
            .call(|client| {
                Box::pin(vaultrs::auth::approle::login(
                    client, mount, role_id, secret_id,
                ))
            })
            .await?;
        for (_, client) in &mut self.servers {
            client.set_token(&auth.client_token);
        }
        Ok(())
    }

    /// Reads the latest version of the secret at `path`.
    pub(super) async fn read(&self, mount: &str, path: &str) -> Result<Secret, Error> {
        let found = self
            .call(|client| {
                let endpoint = ReadSecretRequest::builder()
                    .mount(mount)
                    .path(path)
                    .build()
                    .expect("mount and path are set");
                Box::pin(async move {
                    match vaultrs::api::exec_with_result(client, endpoint).await {
                        Ok(response) => Ok(Some(response)),
                        Err(ClientError::APIError { code: 404, .. }) => Ok(None),
                        // A deleted latest version: a 404 holding its metadata, no `errors`.
                        Err(ClientError::RestClientError {
                            source:
                                rustify::errors::ClientError::ServerResponseError { code: 404, .. },
                        }) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
            })
            .await?;
        let Some(response) = found else {
            // No secret, or its latest version deleted: a write must name the current version.
            let version = self
                .call(|client| {
                    Box::pin(async move {
                        match vaultrs::kv2::read_metadata(client, mount, path).await {
                            Ok(metadata) => Ok(metadata.current_version),
                            // A policy may grant the data path only; then a version deleted
                            // by hand shows as a CAS mismatch at the write.
                            Err(ClientError::APIError {
                                code: 404 | 403, ..
                            }) => Ok(0),
                            Err(e) => Err(e),
                        }
                    })
                })
                .await?;
            return Ok(Secret {
                found: false,
                version,
                fields: Map::new(),
            });
        };
        let fields = match response.data {
            Value::Object(fields) => fields,
            _ => Map::new(),
        };
        Ok(Secret {
            found: true,
            version: response.metadata.version,
            fields,
        })
    }

    /// Writes `fields` as the new version of the secret at `path` if its version is still
    /// `planned`; returns the new version.
    ///
    /// A failure that leaves unknown whether the server applied the write (a lost connection, a
    /// leader change, a timeout) is followed by a read: the write counts as done when the
    /// secret is at the next version and holds `fields`, is tried again when the secret is
    /// still at `planned`, and fails with [`Error::ChangedSincePlanned`] otherwise. After an
    /// interruption it is not tried again ([`Error::Interrupted`]).
    pub(super) async fn write(
        &self,
        mount: &str,
        path: &str,
        fields: &Map<String, Value>,
        planned: u64,
    ) -> Result<u64, Error> {
        let cas = u32::try_from(planned).map_err(|_| Error::VersionTooLarge)?;
        let deadline = Instant::now() + self.timeout;
        let mut attempts = Vec::new();
        loop {
            let at = self.preferred.load(Ordering::Relaxed);
            let (address, client) = &self.servers[at];
            let options = SetSecretRequestOptions { cas };
            let reason =
                match vaultrs::kv2::set_with_options(client, mount, path, fields, options).await {
                    Ok(written) => return Ok(written.version),
                    Err(e) => reason_of(&e),
                };
            tracing::debug!(address, %reason, "vault write failed");
            if !reason.is_transient() && reason != Reason::CasMismatch {
                return Err(Error::Server(Attempt {
                    address: address.clone(),
                    reason,
                }));
            }
            // A CAS mismatch may follow an earlier attempt that was applied after all.
            let current = self.read(mount, path).await?;
            if current.version == planned + 1 && current.fields == *fields {
                tracing::info!(address, "an interrupted write was applied");
                return Ok(current.version);
            }
            if current.version != planned {
                return Err(Error::ChangedSincePlanned {
                    planned,
                    current: current.version,
                });
            }
            if stagecraft_core::interrupt::is_requested() {
                // Ctrl-C came during the write; the read shows that it was not applied.
                return Err(Error::Interrupted);
            }
            if reason == Reason::CasMismatch {
                // The server's version is not the one read, which a retry cannot change: a
                // token that may not read the metadata of a secret whose latest version was
                // deleted sees version 0.
                return Err(Error::Server(Attempt {
                    address: address.clone(),
                    reason,
                }));
            }
            // The last failure of each server is what the error reports.
            attempts.retain(|a: &Attempt| a.address != *address);
            attempts.push(Attempt {
                address: address.clone(),
                reason,
            });
            if Instant::now() >= deadline {
                return Err(Error::Unavailable {
                    timeout: self.timeout,
                    attempts,
                });
            }
            self.preferred
                .store((at + 1) % self.servers.len(), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
