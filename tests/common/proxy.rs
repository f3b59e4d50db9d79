//! A TCP proxy on 127.0.0.1 whose connections a test can cut, as a network would:
//! the client sees its connection break, the server sees nothing until it next
//! reads or writes. Its upstream can be switched to another server, as a DNS name
//! moves to a promoted standby.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Proxy {
    pub port: u16,
    /// The port of the server new connections are relayed to.
    upstream: Arc<AtomicU16>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    pub async fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let upstream = Arc::new(AtomicU16::new(upstream_port));
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (accepted, relay_to) = (connections.clone(), upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream_port = relay_to.load(Ordering::SeqCst);
                let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", upstream_port)).await
                else {
                    continue;
                };
                let relay = tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
                accepted.lock().unwrap().push(relay.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            port,
            upstream,
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
        if let Some(newest) = self.connections.lock().unwrap().last() {
            newest.abort();
        }
    }

    /// From now on new connections reach the server on `upstream_port`; every
    /// connection to the old one breaks, as they would with a host that is gone.
    pub fn switch_to(&self, upstream_port: u16) {
        self.upstream.store(upstream_port, Ordering::SeqCst);
        self.cut_all();
    }

    fn cut_all(&self) {
        for connection in self.connections.lock().unwrap().iter() {
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
