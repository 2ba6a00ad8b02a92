//! A database server that starts late, as a client sees it: a TCP proxy on
//! `127.0.0.1:port` that forwards each connection to the real server, listening only
//! after a delay. Dropping it stops accepting, closes every forwarded connection and
//! joins every thread.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct LateServer {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl LateServer {
    /// Listens on `port` after `delay` (before it returns when `delay` is zero) and
    /// forwards to `server`.
    pub fn start(port: u16, server: SocketAddr, delay: Duration) -> LateServer {
        let bind = move || {
            let listener = TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("listen on 127.0.0.1:{port}: {e}"));
            // Polled, so that dropping the proxy can stop the acceptor.
            listener.set_nonblocking(true).expect("non-blocking accept");
            listener
        };
        let ready = delay.is_zero().then(bind);
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let (stop, accepted, streams, pipes) = (
                Arc::clone(&stop),
                Arc::clone(&accepted),
                Arc::clone(&streams),
                Arc::clone(&pipes),
            );
            std::thread::spawn(move || {
                let opens = Instant::now() + delay;
                while Instant::now() < opens {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let listener = ready.unwrap_or_else(bind);
                while !stop.load(Ordering::Relaxed) {
                    let Ok((client, _)) = listener.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    // Some systems hand the listener's non-blocking mode on.
                    let _ = client.set_nonblocking(false);
                    let Ok(upstream) = TcpStream::connect_timeout(&server, Duration::from_secs(5))
                    else {
                        continue;
                    };
                    let (Ok(c_in), Ok(u_out), Ok(u_in), Ok(c_out)) = (
                        client.try_clone(),
                        upstream.try_clone(),
                        upstream.try_clone(),
                        client.try_clone(),
                    ) else {
                        continue;
                    };
                    accepted.fetch_add(1, Ordering::Relaxed);
                    streams.lock().expect("streams").extend([client, upstream]);
                    let mut pipes = pipes.lock().expect("pipes");
                    pipes.push(std::thread::spawn(move || pipe(c_in, u_out)));
                    pipes.push(std::thread::spawn(move || pipe(u_in, c_out)));
                }
            })
        };
        LateServer {
            stop,
            accepted,
            streams,
            pipes,
            acceptor: Some(acceptor),
        }
    }

    /// How many connections it forwarded (a client's reachability probes included).
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

/// Copies one direction of a connection until it ends, then ends it on the other side.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = std::io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for LateServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        if let Ok(streams) = self.streams.lock() {
            for s in streams.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        let pipes = std::mem::take(&mut *self.pipes.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pipes {
            let _ = p.join();
        }
    }
}

/// A port nothing listens on (it was free a moment ago).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
