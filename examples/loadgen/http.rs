//! Just enough HTTP/1.1 for load: requests pre-built once as bytes, and a response reader that
//! finds the status and the body's framing (RFC 9112 section 6.3: chunked, Content-Length, or
//! until close) and skips the body without keeping it. hyper's client would cost more per
//! request than the gateway under test at tens of thousands of requests a second.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::Error;

/// The bytes of a request without a body (or whose body follows separately).
pub fn request(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in extra {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Sends a pre-built request and reads the whole response.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    request: &[u8],
    reader: &mut Reader,
) -> Result<Response, Error> {
    s.write_all(request).await.map_err(Error::Write)?;
    s.flush().await.map_err(Error::Write)?;
    reader.response(s).await
}

/// What is left of a response once read.
#[derive(Debug, Clone, Copy)]
pub struct Response {
    pub status: u16,
    /// The server will close the connection (or already did, for a close-delimited body).
    pub close: bool,
    /// Body bytes (after removing the chunked framing).
    pub body: u64,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads responses from one connection through a buffer it keeps between them.
pub struct Reader {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

const MAX_LINE: usize = 8 * 1024;

impl Reader {
    /// `size` bounds the response head and is the unit of body reads.
    pub fn new(size: usize) -> Self {
        Reader {
            buf: vec![0; size.max(2 * MAX_LINE)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Forgets buffered bytes (for a new connection).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Reads one whole response, skipping informational (1xx) ones.
    pub async fn response<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<Response, Error> {
        loop {
            let (status, framing, close) = self.head(s).await?;
            if (100..200).contains(&status) {
                if status == 101 {
                    return Err(Error::Protocol("unexpected 101 Switching Protocols"));
                }
                continue;
            }
            let body = match framing {
                Framing::None => 0,
                Framing::Length(n) => {
                    self.skip(s, n).await?;
                    n
                }
                Framing::Chunked => self.chunked(s).await?,
                Framing::UntilClose => self.until_close(s).await?,
            };
            let close = close || matches!(framing, Framing::UntilClose);
            return Ok(Response {
                status,
                close,
                body,
            });
        }
    }

    /// Reads until the peer closes; what arrives is counted, not kept. A TLS peer that closes
    /// without close_notify is taken as closed.
    pub async fn until_close<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<u64, Error> {
        let mut total = (self.end - self.start) as u64;
        self.clear();
        loop {
            match s.read(&mut self.buf).await {
                Ok(0) => return Ok(total),
                Ok(n) => total += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(total),
                Err(e) => return Err(Error::Read(e)),
            }
        }
    }

    /// Status line and headers: the status, how the body is framed, whether the server closes.
    async fn head<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
    ) -> Result<(u16, Framing, bool), Error> {
        let len = loop {
            if let Some(i) = find(&self.buf[self.start..self.end], b"\r\n\r\n") {
                break i + 4;
            }
            self.fill(s).await?;
        };
        let head = &self.buf[self.start..self.start + len];
        self.start += len;
        let mut lines = head[..len - 4].split(|&b| b == b'\n');
        let status_line = lines.next().unwrap_or_default();
        // "HTTP/1.1 200 OK"
        if status_line.len() < 12 || !status_line.starts_with(b"HTTP/1.") {
            return Err(Error::Protocol("bad status line"));
        }
        let http10 = status_line[7] == b'0';
        let status = std::str::from_utf8(&status_line[9..12])
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or(Error::Protocol("bad status code"))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = http10;
        for line in lines {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(Error::Protocol("header without a colon"));
            };
            let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
            if name.eq_ignore_ascii_case(b"content-length") {
                let n = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or(Error::Protocol("bad Content-Length"))?;
                length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = has_token(value, b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                if has_token(value, b"close") {
                    close = true;
                } else if has_token(value, b"keep-alive") {
                    close = false;
                }
            }
        }
        let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
            Framing::None
        } else if chunked {
            Framing::Chunked
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        Ok((status, framing, close))
    }

    /// A chunked body (RFC 9112 section 7.1); returns its decoded length.
    async fn chunked<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<u64, Error> {
        let mut total = 0u64;
        loop {
            let line = self.line(s).await?;
            let digits = line.split(|&b| b == b';').next().unwrap_or_default();
            let size = std::str::from_utf8(trim(digits))
                .ok()
                .and_then(|d| u64::from_str_radix(d, 16).ok())
                .ok_or(Error::Protocol("bad chunk size"))?;
            if size == 0 {
                // Trailer fields, then the empty line.
                while !self.line(s).await?.is_empty() {}
                return Ok(total);
            }
            self.skip(s, size).await?;
            total += size;
            if !self.line(s).await?.is_empty() {
                return Err(Error::Protocol("chunk data longer than its size"));
            }
        }
    }

    /// The next line without its line ending.
    async fn line<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<&[u8], Error> {
        let len = loop {
            if let Some(i) = self.buf[self.start..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                break i;
            }
            if self.end - self.start >= MAX_LINE {
                return Err(Error::Protocol("line too long"));
            }
            self.fill(s).await?;
        };
        let line = &self.buf[self.start..self.start + len];
        self.start += len + 1;
        Ok(line.strip_suffix(b"\r").unwrap_or(line))
    }

    /// Skips `n` body bytes, buffered first, then read straight into the whole buffer.
    async fn skip<S: AsyncRead + Unpin>(&mut self, s: &mut S, mut n: u64) -> Result<(), Error> {
        loop {
            let buffered = (self.end - self.start) as u64;
            if buffered >= n {
                self.start += n as usize;
                return Ok(());
            }
            n -= buffered;
            self.clear();
            self.fill(s).await?;
        }
    }

    /// Reads more after what is buffered, moving it to the front when the tail is short.
    async fn fill<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<(), Error> {
        if self.start == self.end {
            self.clear();
        } else if self.buf.len() - self.end < MAX_LINE {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Err(Error::Protocol("response head too large"));
        }
        match s.read(&mut self.buf[self.end..]).await {
            Ok(0) => Err(Error::Eof),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::Eof),
            Err(e) => Err(Error::Read(e)),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}
