//! The certificate work a token needs, offline: digests, signature verification (RSA PKCS#1
//! v1.5 or ECDSA P-256/P-384, through aws-lc-rs), issuer links, validity at the token's time.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use cms::cert::x509::Certificate;
use der::oid::ObjectIdentifier;
use der::{Decode, Encode};

use super::decode::GenTime;

pub const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
pub const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// The digest of `data` under a digest algorithm (SHA-1 only where the ESS attribute of
/// RFC 2634 fixes it).
pub fn hash(oid: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::digest;
    let alg = match *oid {
        o if o == OID_SHA1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        o if o == OID_SHA256 => &digest::SHA256,
        o if o == OID_SHA384 => &digest::SHA384,
        o if o == OID_SHA512 => &digest::SHA512,
        _ => return None,
    };
    Some(digest::digest(alg, data).as_ref().to_vec())
}

fn sha2_bits(oid: &ObjectIdentifier) -> Option<u16> {
    match *oid {
        o if o == OID_SHA256 => Some(256),
        o if o == OID_SHA384 => Some(384),
        o if o == OID_SHA512 => Some(512),
        _ => None,
    }
}

/// Verifies `sig` over `msg` by the key in `cert`, for a signature algorithm (and, for plain
/// rsaEncryption, the digest algorithm).
pub fn verify_signature(
    cert: &Certificate,
    sig_alg: &ObjectIdentifier,
    digest_alg: Option<&ObjectIdentifier>,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let Some(key) = spki.subject_public_key.as_bytes() else {
        return false;
    };
    let algorithm: Option<&'static dyn VerificationAlgorithm> = if spki.algorithm.oid == OID_RSA {
        let bits = match *sig_alg {
            o if o == OID_RSA_SHA256 => Some(256),
            o if o == OID_RSA_SHA384 => Some(384),
            o if o == OID_RSA_SHA512 => Some(512),
            o if o == OID_RSA => digest_alg.and_then(sha2_bits),
            _ => None,
        };
        match bits {
            Some(256) => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
            Some(384) => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
            Some(512) => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
            _ => None,
        }
    } else if spki.algorithm.oid == OID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match (curve, *sig_alg) {
            (Some(c), o) if c == OID_P256 && o == OID_ECDSA_SHA256 => {
                Some(&signature::ECDSA_P256_SHA256_ASN1)
            }
            (Some(c), o) if c == OID_P256 && o == OID_ECDSA_SHA384 => {
                Some(&signature::ECDSA_P256_SHA384_ASN1)
            }
            (Some(c), o) if c == OID_P384 && o == OID_ECDSA_SHA384 => {
                Some(&signature::ECDSA_P384_SHA384_ASN1)
            }
            (Some(c), o) if c == OID_P384 && o == OID_ECDSA_SHA256 => {
                Some(&signature::ECDSA_P384_SHA256_ASN1)
            }
            _ => None,
        }
    } else {
        None
    };
    match algorithm {
        Some(alg) => UnparsedPublicKey::new(alg, key).verify(msg, sig).is_ok(),
        None => false,
    }
}

/// Whether `cert` was valid at `time` (whole-second bounds against a possibly fractional
/// instant: not before ≤ time ≤ not after).
pub fn valid_at(cert: &Certificate, time: &GenTime) -> bool {
    let v = &cert.tbs_certificate.validity;
    v.not_before.to_unix_duration().as_secs() <= time.unix_floor()
        && time.unix_ceil() <= v.not_after.to_unix_duration().as_secs()
}

/// Whether `cert` may issue certificates: basicConstraints cA TRUE and, when keyUsage is
/// present, keyCertSign (RFC 5280 4.2.1.9, 4.2.1.3).
pub fn is_ca(cert: &Certificate) -> bool {
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
    let Some(exts) = cert.tbs_certificate.extensions.as_ref() else {
        return false;
    };
    let mut ca = false;
    let mut cert_sign = true;
    for ext in exts {
        if ext.extn_id == OID_BASIC_CONSTRAINTS {
            ca = BasicConstraints::from_der(ext.extn_value.as_bytes()).is_ok_and(|bc| bc.ca);
        }
        if ext.extn_id == OID_KEY_USAGE {
            cert_sign = KeyUsage::from_der(ext.extn_value.as_bytes())
                .is_ok_and(|ku| ku.0.contains(KeyUsages::KeyCertSign));
        }
    }
    ca && cert_sign
}

/// Whether `cert` was issued (signed) by `issuer`.
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    let Some(sig) = cert.signature.as_bytes() else {
        return false;
    };
    verify_signature(issuer, &cert.signature_algorithm.oid, None, &tbs, sig)
}

/// The certificate's subjectKeyIdentifier, when it has one.
pub fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    use x509_cert::ext::pkix::SubjectKeyIdentifier;
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == OID_SUBJECT_KEY_ID)?;
    let id = SubjectKeyIdentifier::from_der(ext.extn_value.as_bytes()).ok()?;
    Some(id.0.as_bytes().to_vec())
}

/// Where walking up from the signer stopped.
pub enum ChainEnd {
    /// Issued by this root; every certificate on the way was valid at the time.
    Trusted,
    /// A certificate on the path (or the root, `is_root`) was not valid at the time.
    Expired { subject: String, is_root: bool },
    /// No root was reached.
    Untrusted,
}

/// Follows issuers (by name, each signature verified) from `signer` through the token's CA
/// certificates until one of `roots` issued the certificate in hand.
pub fn chain(
    signer: &Certificate,
    carried: &[Certificate],
    roots: &[Certificate],
    time: &GenTime,
) -> ChainEnd {
    let mut current = signer;
    for _ in 0..8 {
        if !valid_at(current, time) {
            return ChainEnd::Expired {
                subject: current.tbs_certificate.subject.to_string(),
                is_root: false,
            };
        }
        if let Some(root) = roots.iter().find(|r| issued_by(current, r)) {
            if !valid_at(root, time) {
                return ChainEnd::Expired {
                    subject: root.tbs_certificate.subject.to_string(),
                    is_root: true,
                };
            }
            return ChainEnd::Trusted;
        }
        // Only a CA may issue: a leaf under the roots must not vouch for a TSA.
        match carried
            .iter()
            .find(|c| *c != current && is_ca(c) && issued_by(current, c))
        {
            Some(next) => current = next,
            None => return ChainEnd::Untrusted,
        }
    }
    ChainEnd::Untrusted
}
