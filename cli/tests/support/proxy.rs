//! A TCP proxy in front of a server that misbehaves on cue at KV v2 writes (requests that start
//! `POST /v1/<mount>/data/`): it lets another writer in first, forwards the write and then cuts
//! the connection before the answer reaches the client (and then runs a writer of its own, or
//! stops answering anything, like a server that hangs), or answers every write itself.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What to do at writes.
pub enum OnWrite {
    /// At the first write: run this first (a concurrent writer), then forward the write.
    RunFirst(Box<dyn FnOnce() + Send>),
    /// At the first write: forward it, let the server apply it, and drop the answer and the
    /// connection.
    LoseAnswer,
    /// As `LoseAnswer`, and run this once the server has applied the write, before the
    /// connection is dropped.
    LoseAnswerThen(Box<dyn FnOnce() + Send>),
    /// As `LoseAnswer`, and from then on take connections and requests without answering, as
    /// a server that hangs.
    LoseAnswerThenHang,
    /// Answer every write with this HTTP response, never forwarding it.
    Answer(&'static str),
}

/// The proxy; it stops accepting when dropped.
pub struct Proxy {
    pub address: String,
    stop: Arc<AtomicBool>,
    port: u16,
    /// Whether a write was seen.
    pub triggered: Arc<AtomicBool>,
}

/// State shared by the connections.
struct Shared {
    on_write: Mutex<Option<OnWrite>>,
    triggered: Arc<AtomicBool>,
    hung: AtomicBool,
}

impl Proxy {
    pub fn start(upstream: &str, on_write: OnWrite) -> Proxy {
        let upstream = upstream.strip_prefix("http://").expect("http").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let triggered = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            on_write: Mutex::new(Some(on_write)),
            triggered: triggered.clone(),
            hung: AtomicBool::new(false),
        });
        {
            let stop = stop.clone();
            thread::spawn(move || {
                // Connections taken while hung are kept open, never answered.
                let mut held = Vec::new();
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    if shared.hung.load(Ordering::SeqCst) {
                        held.push(client);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(&upstream) else {
                        continue;
                    };
                    let shared = shared.clone();
                    thread::spawn(move || pump(client, server, &shared));
                }
            });
        }
        Proxy {
            address: format!("http://127.0.0.1:{port}"),
            stop,
            port,
            triggered,
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// What the server-to-client side does with the answer to a write.
type AfterWrite = Arc<Mutex<Option<Box<dyn FnOnce() + Send>>>>;

fn pump(mut client: TcpStream, mut server: TcpStream, shared: &Arc<Shared>) {
    let lose_answer = Arc::new(AtomicBool::new(false));
    let after_write: AfterWrite = Arc::new(Mutex::new(None));
    {
        let mut client = client.try_clone().expect("clone");
        let mut server = server.try_clone().expect("clone");
        let lose_answer = lose_answer.clone();
        let after_write = after_write.clone();
        let shared = shared.clone();
        thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n) = server.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if lose_answer.load(Ordering::SeqCst) {
                    // The server has answered, so it has applied the write.
                    if let Some(writer) = after_write.lock().expect("lock").take() {
                        writer();
                    }
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                    break;
                }
                if shared.hung.load(Ordering::SeqCst) {
                    // A hung server answers nothing, and keeps the connection open.
                    continue;
                }
                if client.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            if !shared.hung.load(Ordering::SeqCst) {
                let _ = client.shutdown(Shutdown::Both);
            }
        });
    }
    let mut buf = vec![0; 64 * 1024];
    while let Ok(n) = client.read(&mut buf) {
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if shared.hung.load(Ordering::SeqCst) {
            continue;
        }
        if chunk.starts_with(b"POST /v1/") && contains(chunk, b"/data/") {
            let mut on_write = shared.on_write.lock().expect("lock");
            if on_write.is_some() {
                shared.triggered.store(true, Ordering::SeqCst);
            }
            if let Some(OnWrite::Answer(response)) = &*on_write {
                // Read the rest of the request, so that the client is not cut off writing.
                client
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .expect("timeout");
                while let Ok(n) = client.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
                let _ = client.write_all(response.as_bytes());
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                return;
            }
            match on_write.take() {
                Some(OnWrite::RunFirst(writer)) => writer(),
                Some(OnWrite::LoseAnswer) => lose_answer.store(true, Ordering::SeqCst),
                Some(OnWrite::LoseAnswerThen(writer)) => {
                    *after_write.lock().expect("lock") = Some(writer);
                    lose_answer.store(true, Ordering::SeqCst);
                }
                Some(OnWrite::LoseAnswerThenHang) => {
                    let shared = shared.clone();
                    *after_write.lock().expect("lock") =
                        Some(Box::new(move || shared.hung.store(true, Ordering::SeqCst)));
                    lose_answer.store(true, Ordering::SeqCst);
                }
                Some(OnWrite::Answer(_)) | None => {}
            }
        }
        if server.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Both);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
