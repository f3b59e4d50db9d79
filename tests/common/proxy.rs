//! A TCP proxy on 127.0.0.1 whose connections a test can cut, as a network would:
//! the client sees its connection break, the server sees nothing until it next
//! reads or writes. Its upstream can be switched to another server, as a DNS name
//! moves to a promoted standby. It can also black-hole its connections, as a network
//! in a failover may: they stay open, and nothing goes through either way.

use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Relays what `from` sends to `to`, dropping it while either black hole (the
/// proxy's, the connection's) is set.
async fn pass_on(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    (black_hole, own): (Arc<AtomicBool>, Arc<AtomicBool>),
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if black_hole.load(Ordering::SeqCst) || own.load(Ordering::SeqCst) {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// One relayed connection: how to cut it, and its own black hole.
type Relayed = (AbortHandle, Arc<AtomicBool>);

pub struct Proxy {
    pub port: u16,
    /// The port of the server new connections are relayed to.
    upstream: Arc<AtomicU16>,
    black_hole: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<Relayed>>>,
    accept: AbortHandle,
}

impl Proxy {
    pub async fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let upstream = Arc::new(AtomicU16::new(upstream_port));
        let connections: Arc<Mutex<Vec<Relayed>>> = Arc::default();
        let black_hole = Arc::new(AtomicBool::new(false));
        let (accepted, relay_to, hole) =
            (connections.clone(), upstream.clone(), black_hole.clone());
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let upstream_port = relay_to.load(Ordering::SeqCst);
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                    continue;
                };
                let holes = (hole.clone(), Arc::new(AtomicBool::new(false)));
                let own = holes.1.clone();
                let relay = tokio::spawn(async move {
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::join!(
                        pass_on(in_read, out_write, holes.clone()),
                        pass_on(out_read, in_write, holes)
                    );
                });
                accepted.lock().unwrap().push((relay.abort_handle(), own));
            }
        })
        .abort_handle();
        Proxy {
            port,
            upstream,
            black_hole,
            connections,
            accept,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    /// Breaks the newest connection: both its sockets are closed.
    pub fn cut_newest(&self) {
        if let Some((newest, _)) = self.connections.lock().unwrap().last() {
            newest.abort();
        }
    }

    /// From now on nothing goes through, on open connections and new ones alike:
    /// every byte is swallowed, no connection breaks.
    pub fn black_hole(&self) {
        self.black_hole.store(true, Ordering::SeqCst);
    }

    /// From now on nothing goes through the first connection accepted; the others
    /// go on as before.
    pub fn black_hole_first(&self) {
        if let Some((_, own)) = self.connections.lock().unwrap().first() {
            own.store(true, Ordering::SeqCst);
        }
    }

    /// From now on new connections reach the server on `upstream_port`; every
    /// connection to the old one breaks, as they would with a host that is gone.
    pub fn switch_to(&self, upstream_port: u16) {
        self.upstream.store(upstream_port, Ordering::SeqCst);
        self.cut_all();
    }

    fn cut_all(&self) {
        for (connection, _) in self.connections.lock().unwrap().iter() {
            connection.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}
