//! TLS for the signal connection (`wss://`): rustls over ring, so nothing links OpenSSL.
//!
//! Trusted roots, as a Node user expects them:
//! - the platform's store (`rustls-native-certs`, which also honours `SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` the way OpenSSL does);
//! - the PEM bundle named by `NODE_EXTRA_CA_CERTS`, added on top (as Node does).
//!
//! The built configuration is cached and rebuilt only when one of those variables changes.
//! Certificate failures are turned into an explanation that names the problem and the fix.

use std::sync::Arc;

use parking_lot::Mutex;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The environment variables that decide which roots are trusted.
const TRUST_VARS: [&str; 3] = ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/// A client configuration and what went wrong while building its root store.
#[derive(Clone)]
pub(crate) struct Trust {
    /// The rustls configuration for `wss://` connections.
    pub config: Arc<ClientConfig>,
    /// Problems met while loading roots (unreadable files...), for error messages.
    pub problems: Vec<String>,
}

type Cached = Option<(Vec<Option<String>>, Trust)>;
static CACHE: Mutex<Cached> = Mutex::new(None);

/// The TLS configuration for the current environment.
pub(crate) fn trust() -> Result<Trust, String> {
    let key: Vec<Option<String>> = TRUST_VARS.iter().map(|v| std::env::var(v).ok()).collect();
    let mut cache = CACHE.lock();
    if let Some((k, t)) = cache.as_ref() {
        if *k == key {
            return Ok(t.clone());
        }
    }
    let trust = build(key[0].as_deref())?;
    *cache = Some((key, trust.clone()));
    Ok(trust)
}

fn build(extra_ca_file: Option<&str>) -> Result<Trust, String> {
    let mut roots = RootCertStore::empty();
    let mut problems = Vec::new();
    let native = rustls_native_certs::load_native_certs();
    for e in native.errors.iter().take(3) {
        problems.push(format!("platform certificates: {e}"));
    }
    let (added, _) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, "platform root certificates loaded");
    if let Some(path) = extra_ca_file.filter(|p| !p.is_empty()) {
        match load_pem(path) {
            Ok(certs) if certs.is_empty() => {
                problems.push(format!("NODE_EXTRA_CA_CERTS={path} holds no PEM certificate"));
            }
            Ok(certs) => {
                let (ok, bad) = roots.add_parsable_certificates(certs);
                if bad > 0 {
                    problems.push(format!("NODE_EXTRA_CA_CERTS={path}: {bad} certificate(s) could not be parsed"));
                }
                tracing::debug!(added = ok, path, "extra CA certificates loaded");
            }
            Err(e) => problems.push(format!("NODE_EXTRA_CA_CERTS={path} could not be read: {e}")),
        }
    }
    for p in &problems {
        tracing::warn!("{p}");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Trust { config: Arc::new(config), problems })
}

fn load_pem(path: &str) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path)?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{e:?}")))
}

/// Explains a TLS failure found in `err` (an I/O error from the handshake), or `None`
/// when it is not one. `host` is the name the certificate was checked against.
pub(crate) fn explain(err: &std::io::Error, host: &str, trust: &Trust) -> Option<String> {
    let tls = err.get_ref()?.downcast_ref::<rustls::Error>()?;
    let hint = "add the CA that signed it with NODE_EXTRA_CA_CERTS=/path/to/ca.pem (or SSL_CERT_FILE / SSL_CERT_DIR)";
    let mut text = match tls {
        rustls::Error::InvalidCertificate(c) => {
            use rustls::CertificateError as C;
            match c {
                C::UnknownIssuer => {
                    format!("the TLS certificate of {host} is signed by an unknown authority; {hint}")
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                    "the TLS certificate presented by {host} is not valid for that name ({c:?}); \
                     connect with a host name the certificate lists"
                ),
                C::Expired | C::ExpiredContext { .. } => {
                    format!("the TLS certificate of {host} has expired ({c:?}); renew it on the server")
                }
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    format!("the TLS certificate of {host} is not valid yet ({c:?}); check the clocks of both machines")
                }
                C::Revoked => format!("the TLS certificate of {host} has been revoked"),
                other => format!("the TLS certificate of {host} was refused ({other:?}); {hint}"),
            }
        }
        other => format!("TLS handshake with {host} failed: {other}"),
    };
    if !trust.problems.is_empty() {
        text.push_str(&format!(" (while loading trusted certificates: {})", trust.problems.join("; ")));
    }
    Some(text)
}

/// True when `err` is a certificate verification failure.
pub(crate) fn is_certificate_error(err: &std::io::Error) -> bool {
    matches!(err.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()), Some(rustls::Error::InvalidCertificate(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_extra_ca_file_is_reported_not_fatal() {
        let t = build(Some("/nonexistent/ca.pem")).unwrap();
        assert!(t.problems.iter().any(|p| p.contains("NODE_EXTRA_CA_CERTS=/nonexistent/ca.pem")), "{:?}", t.problems);
    }

    #[test]
    fn extra_ca_file_without_certificates_is_reported() {
        let dir = std::env::temp_dir().join(format!("lkrtc-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let t = build(Some(path.to_str().unwrap())).unwrap();
        assert!(t.problems.iter().any(|p| p.contains("holds no PEM certificate")), "{:?}", t.problems);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn explains_certificate_errors() {
        let t = build(None).unwrap();
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert!(is_certificate_error(&io));
        let text = explain(&io, "example.test", &t).unwrap();
        assert!(text.contains("unknown authority") && text.contains("NODE_EXTRA_CA_CERTS"), "{text}");
        let plain = std::io::Error::other("connection refused");
        assert!(explain(&plain, "example.test", &t).is_none());
        assert!(!is_certificate_error(&plain));
    }
}
