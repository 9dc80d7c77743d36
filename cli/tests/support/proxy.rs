//! A TCP proxy in front of a server that misbehaves on cue at the first KV v2 write (a request
//! that starts `POST /v1/<mount>/data/`): it lets another writer in first, or forwards the write
//! and then cuts the connection before the answer reaches the client.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What to do at the first write.
pub enum OnWrite {
    /// Run this first (a concurrent writer), then forward the write.
    RunFirst(Box<dyn FnOnce() + Send>),
    /// Forward the write, let the server apply it, and drop the answer and the connection.
    LoseAnswer,
}

/// The proxy; it stops accepting when dropped.
pub struct Proxy {
    pub address: String,
    stop: Arc<AtomicBool>,
    port: u16,
    /// Whether the first write was seen.
    pub triggered: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: &str, on_write: OnWrite) -> Proxy {
        let upstream = upstream.strip_prefix("http://").expect("http").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let triggered = Arc::new(AtomicBool::new(false));
        let on_write = Arc::new(Mutex::new(Some(on_write)));
        {
            let stop = stop.clone();
            let triggered = triggered.clone();
            thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let Ok(server) = TcpStream::connect(&upstream) else {
                        continue;
                    };
                    let on_write = on_write.clone();
                    let triggered = triggered.clone();
                    thread::spawn(move || pump(client, server, &on_write, &triggered));
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

fn pump(
    mut client: TcpStream,
    mut server: TcpStream,
    on_write: &Mutex<Option<OnWrite>>,
    triggered: &AtomicBool,
) {
    let lose_answer = Arc::new(AtomicBool::new(false));
    {
        let mut client = client.try_clone().expect("clone");
        let mut server = server.try_clone().expect("clone");
        let lose_answer = lose_answer.clone();
        thread::spawn(move || {
            let mut buf = vec![0; 64 * 1024];
            while let Ok(n) = server.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if lose_answer.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                    break;
                }
                if client.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = client.shutdown(Shutdown::Both);
        });
    }
    let mut buf = vec![0; 64 * 1024];
    while let Ok(n) = client.read(&mut buf) {
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if chunk.starts_with(b"POST /v1/") && contains(chunk, b"/data/") {
            match on_write.lock().expect("lock").take() {
                Some(OnWrite::RunFirst(writer)) => {
                    triggered.store(true, Ordering::SeqCst);
                    writer();
                }
                Some(OnWrite::LoseAnswer) => {
                    triggered.store(true, Ordering::SeqCst);
                    lose_answer.store(true, Ordering::SeqCst);
                }
                None => {}
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
