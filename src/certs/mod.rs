//! `dockgate certs`: a small private CA for the gateway and its clients, written in the layout
//! that `docker --tlsverify` and `DOCKER_CERT_PATH` expect.
//!
//! ```text
//! DIR/ca.pem  DIR/ca-key.pem  DIR/server-cert.pem  DIR/server-key.pem  DIR/crl.pem
//! DIR/clients/NAME/{ca.pem,cert.pem,key.pem}
//! DIR/dockgate-ca.toml        the CA's bookkeeping (see book.rs)
//! ```
//!
//! Keys are written 0600 and nothing existing is overwritten without `force` (replacements are
//! atomic, so a gateway watching the files never sees half of one). The gateway itself never
//! uses this module.

mod book;
mod ca;
mod files;
mod keys;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

pub use book::{normalise_serial, Book, BookError, EntryProblem, Issued, Kind};
pub use ca::{Ca, CaError, Role};
pub use files::FileError;
pub use keys::{KeyType, UnknownKeyType};

/// Default validity of the CA, in days.
pub const CA_DAYS: i64 = 3650;
/// Default validity of server and client certificates, in days.
pub const LEAF_DAYS: i64 = 365;
/// Default validity of a CRL (its next-update time), in days.
pub const CRL_DAYS: i64 = 90;

#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    #[error("{} already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error(
        "`{0}` is not a usable client name (letters, digits, `.`, `_`, `-`; not starting with `.`)"
    )]
    BadClientName(String),
    #[error("client `{0}` is listed twice")]
    DuplicateClient(String),
    #[error("{what} must be between 1 and 36500 days, not {days}")]
    BadDays { what: &'static str, days: i64 },
    #[error("{} holds no CA (ca.pem and ca-key.pem); create one with `dockgate certs init`", .0.display())]
    NoCa(PathBuf),
    #[error("nothing to revoke: {0}")]
    NothingToRevoke(String),
    #[error("cannot read the certificate {}", .0.display())]
    BadCert(PathBuf),
    #[error(transparent)]
    Ca(#[from] CaError),
    #[error(transparent)]
    Book(#[from] BookError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot format a date")]
    Time(#[from] time::error::Format),
}

fn valid_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn check_days(what: &'static str, days: i64) -> Result<(), CertsError> {
    if (1..=36_500).contains(&days) {
        Ok(())
    } else {
        Err(CertsError::BadDays { what, days })
    }
}

fn check_client_name(name: &str) -> Result<(), CertsError> {
    if valid_client_name(name) {
        Ok(())
    } else {
        Err(CertsError::BadClientName(name.to_string()))
    }
}

/// Writes `files` (path, contents, mode) after checking none exists (unless `force`).
fn write_all(files: &[(PathBuf, &str, u32)], force: bool) -> Result<(), CertsError> {
    if !force {
        if let Some((existing, _, _)) = files.iter().find(|(p, _, _)| p.exists()) {
            return Err(CertsError::Exists(existing.clone()));
        }
    }
    for (path, contents, mode) in files {
        if let Some(parent) = path.parent() {
            files::create_dir(parent, 0o755)?;
        }
        files::write(path, contents.as_bytes(), *mode, force)?;
    }
    Ok(())
}

/// The server names every server certificate carries, plus `hosts` and `ips`.
fn server_names(hosts: &[String], ips: &[IpAddr]) -> (Vec<String>, Vec<IpAddr>) {
    let mut h = vec!["localhost".to_string()];
    for x in hosts {
        if !h.contains(x) {
            h.push(x.clone());
        }
    }
    let mut i: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    for x in ips {
        if !i.contains(x) {
            i.push(*x);
        }
    }
    (h, i)
}

/// A server certificate for `hosts` and `ips` plus the local names; its CN is the first host
/// given (else localhost). Returns it with every name it carries.
fn issue_server_cert(
    ca: &Ca,
    hosts: &[String],
    ips: &[IpAddr],
    days: i64,
    key_type: KeyType,
) -> Result<(ca::Made, Vec<String>), CertsError> {
    let (all_hosts, all_ips) = server_names(hosts, ips);
    let cn = hosts.first().map(String::as_str).unwrap_or("localhost");
    let role = Role::Server {
        hosts: &all_hosts,
        ips: &all_ips,
    };
    let made = ca.issue(cn, role, days, key_type, "server-cert.pem")?;
    let mut names = all_hosts.clone();
    names.extend(all_ips.iter().map(IpAddr::to_string));
    Ok((made, names))
}

/// What `certs init` makes.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub hosts: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub clients: Vec<String>,
    pub key_type: KeyType,
    pub ca_days: i64,
    pub days: i64,
    pub crl_days: i64,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            dir: PathBuf::new(),
            hosts: Vec::new(),
            ips: Vec::new(),
            clients: Vec::new(),
            key_type: KeyType::default(),
            ca_days: CA_DAYS,
            days: LEAF_DAYS,
            crl_days: CRL_DAYS,
        }
    }
}

/// One client bundle on disk.
#[derive(Debug, Clone)]
pub struct ClientBundle {
    pub name: String,
    pub dir: PathBuf,
    pub record: Issued,
}

/// What `certs init` wrote.
#[derive(Debug, Clone)]
pub struct InitReport {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub crl: PathBuf,
    pub clients: Vec<ClientBundle>,
    pub server_names: Vec<String>,
}

/// The files `certs init` would write into `dir` for `clients`.
pub fn planned_files(dir: &Path, clients: &[String]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "ca.pem",
        "ca-key.pem",
        "server-cert.pem",
        "server-key.pem",
        "crl.pem",
        book::FILE,
    ]
    .iter()
    .map(|f| dir.join(f))
    .collect();
    for c in clients {
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            out.push(dir.join("clients").join(c).join(f));
        }
    }
    out
}

/// Creates a CA, a server certificate, an empty CRL and one bundle per client in `opts.dir`.
pub fn init(opts: &InitOptions) -> Result<InitReport, CertsError> {
    for (i, c) in opts.clients.iter().enumerate() {
        check_client_name(c)?;
        if opts.clients[..i].contains(c) {
            return Err(CertsError::DuplicateClient(c.clone()));
        }
    }
    check_days("--ca-days", opts.ca_days)?;
    check_days("--days", opts.days)?;
    check_days("--crl-days", opts.crl_days)?;
    if let Some(existing) = planned_files(&opts.dir, &opts.clients)
        .into_iter()
        .find(|p| p.exists())
    {
        return Err(CertsError::Exists(existing));
    }
    let dir = &opts.dir;
    let (ca, made_ca) = Ca::generate(opts.key_type, opts.ca_days)?;
    let (server, names) = issue_server_cert(&ca, &opts.hosts, &opts.ips, opts.days, opts.key_type)?;
    let mut book = Book {
        crl_number: 1,
        ..Book::default()
    };
    let (crl, _) = ca.crl(&[], book.crl_number, opts.crl_days)?;
    files::create_dir(dir, 0o755)?;
    write_all(
        &[
            (dir.join("ca.pem"), &made_ca.cert_pem, 0o644),
            (dir.join("ca-key.pem"), &made_ca.key_pem, 0o600),
            (dir.join("server-cert.pem"), &server.cert_pem, 0o644),
            (dir.join("server-key.pem"), &server.key_pem, 0o600),
            (dir.join("crl.pem"), &crl, 0o644),
        ],
        false,
    )?;
    book.record(made_ca.record);
    book.record(server.record);
    let mut clients = Vec::new();
    for name in &opts.clients {
        let (bundle, record) = write_client(&ca, dir, name, &[], opts.days, opts.key_type, false)?;
        book.record(record.clone());
        clients.push(ClientBundle {
            name: name.clone(),
            dir: bundle,
            record,
        });
    }
    book.save(dir)?;
    Ok(InitReport {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server-cert.pem"),
        server_key: dir.join("server-key.pem"),
        crl: dir.join("crl.pem"),
        clients,
        server_names: names,
    })
}

fn write_client(
    ca: &Ca,
    dir: &Path,
    name: &str,
    ous: &[String],
    days: i64,
    key_type: KeyType,
    force: bool,
) -> Result<(PathBuf, Issued), CertsError> {
    let bundle = dir.join("clients").join(name);
    let file = format!("clients/{name}/cert.pem");
    let made = ca.issue(name, Role::Client { ous }, days, key_type, &file)?;
    if !force {
        if let Some(p) = ["ca.pem", "cert.pem", "key.pem"]
            .iter()
            .map(|f| bundle.join(f))
            .find(|p| p.exists())
        {
            return Err(CertsError::Exists(p));
        }
    }
    files::create_dir(&dir.join("clients"), 0o755)?;
    files::create_dir(&bundle, 0o700)?;
    // The key first: a bundle is never left with a certificate whose key is missing.
    write_all(
        &[
            (bundle.join("key.pem"), &made.key_pem, 0o600),
            (bundle.join("cert.pem"), &made.cert_pem, 0o644),
            (bundle.join("ca.pem"), &ca.cert_pem, 0o644),
        ],
        force,
    )?;
    Ok((bundle, made.record))
}

fn load_ca(dir: &Path) -> Result<Ca, CertsError> {
    if !dir.join("ca.pem").exists() || !dir.join("ca-key.pem").exists() {
        return Err(CertsError::NoCa(dir.to_path_buf()));
    }
    Ok(Ca::load(dir)?)
}

/// `certs issue --client`.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub dir: PathBuf,
    pub name: String,
    pub ous: Vec<String>,
    pub days: i64,
    pub key_type: KeyType,
    pub force: bool,
}

/// Issues another client bundle in `DIR/clients/NAME`.
pub fn issue_client(opts: &ClientOptions) -> Result<ClientBundle, CertsError> {
    check_client_name(&opts.name)?;
    check_days("--days", opts.days)?;
    let ca = load_ca(&opts.dir)?;
    let mut book = Book::load(&opts.dir)?;
    let (dir, record) = write_client(
        &ca,
        &opts.dir,
        &opts.name,
        &opts.ous,
        opts.days,
        opts.key_type,
        opts.force,
    )?;
    book.record(record.clone());
    book.save(&opts.dir)?;
    Ok(ClientBundle {
        name: opts.name.clone(),
        dir,
        record,
    })
}

/// `certs issue --server`.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub dir: PathBuf,
    pub hosts: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub days: i64,
    pub key_type: KeyType,
    pub force: bool,
}

/// What `certs issue --server` wrote.
#[derive(Debug, Clone)]
pub struct ServerReport {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub names: Vec<String>,
    pub record: Issued,
}

/// Issues (renews) the server certificate `DIR/server-cert.pem` and its key.
pub fn issue_server(opts: &ServerOptions) -> Result<ServerReport, CertsError> {
    check_days("--days", opts.days)?;
    let ca = load_ca(&opts.dir)?;
    let mut book = Book::load(&opts.dir)?;
    let (made, names) = issue_server_cert(&ca, &opts.hosts, &opts.ips, opts.days, opts.key_type)?;
    let (cert, key) = (
        opts.dir.join("server-cert.pem"),
        opts.dir.join("server-key.pem"),
    );
    write_all(
        &[
            (key.clone(), &made.key_pem, 0o600),
            (cert.clone(), &made.cert_pem, 0o644),
        ],
        opts.force,
    )?;
    book.record(made.record.clone());
    book.save(&opts.dir)?;
    Ok(ServerReport {
        cert,
        key,
        names,
        record: made.record,
    })
}

/// Which certificates `certs revoke` revokes.
#[derive(Debug, Clone)]
pub enum RevokeTarget {
    /// Every unrevoked client certificate issued under this name.
    Client(String),
    Serial(String),
    Cert(PathBuf),
}

/// What `certs revoke` and `certs crl` did.
#[derive(Debug, Clone)]
pub struct CrlReport {
    pub revoked_now: Vec<Issued>,
    pub crl: PathBuf,
    pub revoked_total: usize,
    pub next_update: String,
}

fn now_rfc3339() -> Result<String, CertsError> {
    Ok(OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?)
}

/// Records the revocation and writes a fresh, signed `DIR/crl.pem`.
pub fn revoke(dir: &Path, target: &RevokeTarget, crl_days: i64) -> Result<CrlReport, CertsError> {
    check_days("--crl-days", crl_days)?;
    let ca = load_ca(dir)?;
    let mut book = Book::load(dir)?;
    let serial_of_file = |path: &Path| -> Result<String, CertsError> {
        let der =
            crate::tls::load_certs(path).map_err(|_| CertsError::BadCert(path.to_path_buf()))?;
        let first = der
            .first()
            .ok_or_else(|| CertsError::BadCert(path.to_path_buf()))?;
        let (_, cert) = X509Certificate::from_der(first)
            .map_err(|_| CertsError::BadCert(path.to_path_buf()))?;
        Ok(cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    };
    let indices: Vec<usize> = match target {
        RevokeTarget::Client(name) => book
            .issued
            .iter()
            .enumerate()
            .filter(|(_, i)| i.kind == Kind::Client && &i.name == name && i.revoked.is_none())
            .map(|(n, _)| n)
            .collect(),
        RevokeTarget::Serial(s) => book.find_serial(s).into_iter().collect(),
        RevokeTarget::Cert(path) => book
            .find_serial(&serial_of_file(path)?)
            .into_iter()
            .collect(),
    };
    let describe = || match target {
        RevokeTarget::Client(n) => format!(
            "no unrevoked client certificate named `{n}` in {}",
            book::FILE
        ),
        RevokeTarget::Serial(s) => format!("serial {s} is not in {}", book::FILE),
        RevokeTarget::Cert(p) => format!(
            "{} was not issued by this CA (not in {})",
            p.display(),
            book::FILE
        ),
    };
    if indices.is_empty() {
        return Err(CertsError::NothingToRevoke(describe()));
    }
    let at = now_rfc3339()?;
    let mut revoked_now = Vec::new();
    for n in indices {
        let entry = &mut book.issued[n];
        if entry.kind == Kind::Ca {
            return Err(CertsError::NothingToRevoke(
                "the CA cannot revoke itself".to_string(),
            ));
        }
        if entry.revoked.is_none() {
            entry.revoked = Some(at.clone());
            revoked_now.push(entry.clone());
        }
    }
    if revoked_now.is_empty() {
        return Err(CertsError::NothingToRevoke(format!(
            "{} (already revoked)",
            describe()
        )));
    }
    write_crl(&ca, dir, &mut book, crl_days, revoked_now)
}

/// Writes a fresh CRL from the bookkeeping (to renew it before its next-update time).
pub fn refresh_crl(dir: &Path, crl_days: i64) -> Result<CrlReport, CertsError> {
    check_days("--crl-days", crl_days)?;
    let ca = load_ca(dir)?;
    let mut book = Book::load(dir)?;
    write_crl(&ca, dir, &mut book, crl_days, Vec::new())
}

fn write_crl(
    ca: &Ca,
    dir: &Path,
    book: &mut Book,
    days: i64,
    revoked_now: Vec<Issued>,
) -> Result<CrlReport, CertsError> {
    let revoked = book.revoked(dir)?;
    book.crl_number += 1;
    // The bookkeeping first: a crash after it leaves a CRL that `certs crl` can rewrite.
    book.save(dir)?;
    let (pem, next) = ca.crl(&revoked, book.crl_number, days)?;
    let crl = dir.join("crl.pem");
    files::write(&crl, pem.as_bytes(), 0o644, true)?;
    Ok(CrlReport {
        revoked_now,
        crl,
        revoked_total: revoked.len(),
        next_update: next.format(&time::format_description::well_known::Rfc3339)?,
    })
}

/// Every certificate this CA issued, from its bookkeeping.
pub fn list(dir: &Path) -> Result<Vec<Issued>, CertsError> {
    if !dir.join("ca.pem").exists() {
        return Err(CertsError::NoCa(dir.to_path_buf()));
    }
    Ok(Book::load(dir)?.issued)
}

/// The `host:port` clients should use, guessed from the server certificate in `dir`: its first
/// DNS name other than localhost, else its first non-loopback IP, else localhost.
pub fn guess_endpoint(dir: &Path) -> String {
    let fallback = "localhost:2376".to_string();
    let Ok(certs) = crate::tls::load_certs(&dir.join("server-cert.pem")) else {
        return fallback;
    };
    let Some(Ok((_, cert))) = certs.first().map(|c| X509Certificate::from_der(c)) else {
        return fallback;
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return fallback;
    };
    let mut ip = None;
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(d) if *d != "localhost" => return format!("{d}:2376"),
            GeneralName::IPAddress(b) if ip.is_none() => {
                let addr = match b.len() {
                    4 => <[u8; 4]>::try_from(*b).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(*b).ok().map(IpAddr::from),
                    _ => None,
                };
                if let Some(a) = addr.filter(|a| !a.is_loopback()) {
                    ip = Some(match a {
                        IpAddr::V4(v4) => format!("{v4}:2376"),
                        IpAddr::V6(v6) => format!("[{v6}]:2376"),
                    });
                }
            }
            _ => {}
        }
    }
    ip.unwrap_or(fallback)
}

/// The ready-to-paste commands for a client bundle at `bundle` reaching `endpoint` (host:port).
pub fn client_commands(name: &str, bundle: &Path, endpoint: &str) -> String {
    let b = bundle
        .canonicalize()
        .unwrap_or_else(|_| bundle.to_path_buf());
    let b = b.display();
    format!(
        "docker context create dockgate-{name} \\\n  --docker \"host=tcp://{endpoint},ca={b}/ca.pem,cert={b}/cert.pem,key={b}/key.pem\"\n\
         docker --context dockgate-{name} version\n\n\
         curl --cert {b}/cert.pem --key {b}/key.pem --cacert {b}/ca.pem https://{endpoint}/version\n\n\
         or: export DOCKER_HOST=tcp://{endpoint} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH={b}\n"
    )
}
