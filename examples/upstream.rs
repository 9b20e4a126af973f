//! The benchmark's synthetic engine: HTTP/1.1 on a unix socket, one thread, answering fast so
//! that the front is what is measured. `GET /_ping` → `OK`; `GET /big` → SIZE bytes from memory;
//! `POST /upload` → reads the whole body (Content-Length or chunked), then `200 OK`, so a front
//! cannot finish an upload before the bytes arrived; anything else → 404. Keep-alive throughout.
//!
//! usage: cargo run --release --example upstream -- SOCKET [BIG_BYTES]

use std::io;
use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const PING: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK";
const UPLOADED: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK";
const NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found";

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let socket = PathBuf::from(args.next().expect("usage: upstream SOCKET [BIG_BYTES]"));
    let big: u64 = args
        .next()
        .map(|s| s.parse().expect("BIG_BYTES"))
        .unwrap_or(1 << 30);
    let _ = std::fs::remove_file(&socket);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = UnixListener::bind(&socket)?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let _ = serve(stream, big).await;
            });
        }
    })
}

/// Where the head ends (after `\r\n\r\n`).
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn serve(mut s: UnixStream, big: u64) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 256 * 1024];
    let zeros = vec![0u8; 1 << 20];
    loop {
        // One request head.
        let end = loop {
            if let Some(end) = head_end(&buf) {
                break end;
            }
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let mut parts = head.split(' ');
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = path.split('?').next().unwrap_or("");
        let path = path
            .strip_prefix("/v1.")
            .and_then(|p| p.find('/').map(|i| &p[i..]))
            .unwrap_or(path);
        // Its body, read whole and dropped.
        if let Some(len) = header(&head, "content-length").and_then(|v| v.parse::<u64>().ok()) {
            skip(&mut s, &mut buf, &mut chunk, len).await?;
        } else if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            read_chunked(&mut s, &mut buf, &mut chunk).await?;
        }
        match (method, path) {
            ("GET" | "HEAD", "/_ping") => s.write_all(PING).await?,
            ("GET", "/big") => {
                let h = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {big}\r\n\r\n"
                );
                s.write_all(h.as_bytes()).await?;
                let mut left = big;
                while left > 0 {
                    let n = (zeros.len() as u64).min(left) as usize;
                    s.write_all(&zeros[..n]).await?;
                    left -= n as u64;
                }
            }
            ("POST" | "PUT", "/upload") => s.write_all(UPLOADED).await?,
            _ => s.write_all(NOT_FOUND).await?,
        }
    }
}

/// Reads a chunked body to its end (trailers included), dropping it.
async fn read_chunked(s: &mut UnixStream, buf: &mut Vec<u8>, chunk: &mut [u8]) -> io::Result<()> {
    loop {
        // A size line.
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            let n = s.read(chunk).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        buf.drain(..line_end + 2);
        let size = u64::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    let empty = i == 0;
                    buf.drain(..i + 2);
                    if empty {
                        return Ok(());
                    }
                    continue;
                }
                let n = s.read(chunk).await?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
        }
        // The data and its CRLF.
        skip(s, buf, chunk, size + 2).await?;
    }
}

/// Drops the next `len` bytes of the stream: first what `buf` holds, then reads into `chunk`.
async fn skip(s: &mut UnixStream, buf: &mut Vec<u8>, chunk: &mut [u8], len: u64) -> io::Result<()> {
    let have = (buf.len() as u64).min(len);
    buf.drain(..have as usize);
    let mut left = len - have;
    while left > 0 {
        let want = (chunk.len() as u64).min(left) as usize;
        let n = s.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        left -= n as u64;
    }
    Ok(())
}
