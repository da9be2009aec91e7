//! RFC 3161 time-stamp tokens: building requests and checking tokens, offline.
//!
//! A token is a CMS SignedData (RFC 5652) whose content is a TSTInfo, decoded strictly
//! (decode.rs). It is valid for a checkpoint when every check in [`check_token`] passes: the
//! imprint is SHA-256 of the checkpoint's sealed bytes; the signer certificate (found by issuer
//! and serial, or by subject key identifier) is carried; the signed attributes bind the
//! TSTInfo and the signer certificate (ESS); the signature verifies; the certificate is a TSA's;
//! and, given roots, the certificates chain to one of them, all valid at the token's time.

use cms::cert::x509::Certificate;
use cms::signed_data::SignerIdentifier;
use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode};
use serde::Serialize;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use super::decode::{self, Token, OID_TST_INFO};
use super::ess;
use super::pki::{self, ChainEnd};
use crate::core::digest::Digest;

pub use super::pki::OID_SHA256;
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// A DER TimeStampReq for a SHA-256 imprint, with a nonce and certReq set.
pub fn build_request(imprint: &Digest, nonce: &[u8; 8]) -> Result<Vec<u8>, String> {
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: cms::cert::x509::spki::AlgorithmIdentifier::<Any> {
                oid: OID_SHA256,
                parameters: Some(Any::null()),
            },
            hashed_message: OctetString::new(imprint.0.to_vec()).map_err(|e| e.to_string())?,
        },
        req_policy: None,
        nonce: Some(Int::new(nonce).map_err(|e| e.to_string())?),
        cert_req: true,
        extensions: None,
    };
    request.to_der().map_err(|e| e.to_string())
}

/// A positive, minimally encoded 64-bit nonce from random bytes.
pub fn nonce_from(mut random: [u8; 8]) -> [u8; 8] {
    random[0] = (random[0] & 0x7f) | 0x40;
    random
}

/// The nonce of a request, as bytes.
pub fn request_nonce(request_der: &[u8]) -> Option<Vec<u8>> {
    let request = TimeStampReq::from_der(request_der).ok()?;
    request.nonce.map(|n| n.as_bytes().to_vec())
}

/// What a reply holds, once its status is checked.
pub struct Reply {
    pub token: Vec<u8>,
}

/// Parses a TimeStampResp; the status must be granted (0) or granted with modifications (1).
pub fn parse_reply(bytes: &[u8]) -> Result<Reply, String> {
    let resp = TimeStampResp::from_der(bytes)
        .map_err(|e| format!("not a time-stamp reply (DER TimeStampResp): {e}"))?;
    let status = resp.status.status as u8;
    if status > 1 {
        let text = resp
            .status
            .status_string
            .as_ref()
            .map(|t| format!("{t:?}"))
            .unwrap_or_default();
        return Err(format!(
            "the TSA did not grant the request (PKIStatus {status}) {text}"
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or("the reply is granted but carries no token")?;
    Ok(Reply {
        token: token.to_der().map_err(|e| e.to_string())?,
    })
}

/// The parts of a token that identify it.
pub struct TokenInfo {
    pub imprint_sha256: Option<[u8; 32]>,
    pub nonce: Option<Vec<u8>>,
    pub gen_time: String,
}

/// Reads a token's imprint and nonce, decoding it strictly but without checking its signature.
pub fn token_info(token: &[u8]) -> Result<TokenInfo, String> {
    let token =
        decode::decode_token(token).map_err(|flaw| format!("{}: {}", flaw.code(), flaw.why()))?;
    Ok(TokenInfo {
        imprint_sha256: sha256_imprint(&token),
        nonce: token.tst.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
        gen_time: token.tst.gen_time.to_string(),
    })
}

fn sha256_imprint(token: &Token) -> Option<[u8; 32]> {
    let imprint = &token.tst.message_imprint;
    (imprint.hash_algorithm.oid == OID_SHA256)
        .then(|| <[u8; 32]>::try_from(imprint.hashed_message.as_bytes()).ok())
        .flatten()
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenCheck {
    /// The TSA, as the signer certificate's subject.
    pub tsa: String,
    pub time: String,
    /// `valid`, `chain-unchecked` (no roots given) or `invalid`.
    pub status: &'static str,
    /// Problem codes with details, when invalid.
    pub problems: Vec<(&'static str, String)>,
}

/// A failed check: its problem code and what was found.
type Problem = (&'static str, String);

/// Checks a token against the expected imprint, and, given roots, its certificate chain: the
/// strict decoding, then each named check below (FORMAT.md §20 lists them with their codes).
pub fn check_token(token: &[u8], expected: &Digest, roots: Option<&[Certificate]>) -> TokenCheck {
    let mut check = TokenCheck {
        tsa: "(unknown)".into(),
        time: String::new(),
        status: "invalid",
        problems: Vec::new(),
    };
    let token = match decode::decode_token(token) {
        Ok(token) => token,
        Err(flaw) => {
            check.problems.push((flaw.code(), flaw.why().to_string()));
            return check;
        }
    };
    check.time = token.tst.gen_time.to_string();
    let signer = match find_signer(&token) {
        Ok(signer) => signer,
        Err(problem) => {
            check
                .problems
                .extend(imprint_matches(&token, expected).err());
            check.problems.push(problem);
            return check;
        }
    };
    check.tsa = signer.tbs_certificate.subject.to_string();
    let results = [
        imprint_matches(&token, expected),
        attributes_bind_tst_info(&token),
        signature_verifies(&token, signer),
        signing_certificate_is_signer(&token, signer),
        is_tsa_certificate(signer),
        roots.map_or(Ok(()), |roots| chains_to_roots(&token, signer, roots)),
    ];
    check
        .problems
        .extend(results.into_iter().filter_map(Result::err));
    check.status = if !check.problems.is_empty() {
        "invalid"
    } else if roots.is_some() {
        "valid"
    } else {
        "chain-unchecked"
    };
    check
}

/// The TSTInfo imprint is SHA-256 of the checkpoint's sealed bytes.
fn imprint_matches(token: &Token, expected: &Digest) -> Result<(), Problem> {
    if sha256_imprint(token) == Some(expected.0) {
        return Ok(());
    }
    Err((
        "timestamp-imprint-mismatch",
        "the token does not time-stamp this checkpoint's sealed bytes".into(),
    ))
}

/// The carried certificate the SignerInfo identifies, by issuer and serial number or by
/// subject key identifier. Should several match (a key certified twice), the one the ESS
/// attribute names is taken, so an honest token is not judged by a decoy.
fn find_signer(token: &Token) -> Result<&Certificate, Problem> {
    let matches = |cert: &&Certificate| match &token.signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            cert.tbs_certificate.issuer == id.issuer
                && cert.tbs_certificate.serial_number == id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(id) => {
            pki::subject_key_id(cert).as_deref() == Some(id.0.as_bytes())
        }
    };
    let candidates: Vec<&Certificate> = token.certificates.iter().filter(matches).collect();
    let named = ess::signer_ids(&token.signer).ok().and_then(|ids| {
        candidates
            .iter()
            .find(|c| ids.iter().all(|id| id.names(c)))
            .copied()
    });
    named.or(candidates.first().copied()).ok_or((
        "timestamp-signature-invalid",
        "the token does not carry its signer's certificate (request it with certReq)".into(),
    ))
}

/// The signed attribute named `oid`, which must occur at most once with one value.
fn single_attribute<'a>(
    token: &'a Token,
    oid: ObjectIdentifier,
    name: &str,
) -> Result<&'a Any, String> {
    let attrs = token
        .signer
        .signed_attrs
        .as_ref()
        .ok_or("the token has no signed attributes")?;
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (Some(attr), None) => match attr.values.as_slice() {
            [value] => Ok(value),
            _ => Err(format!("the {name} attribute must hold exactly one value")),
        },
        (None, _) => Err(format!("the signed attributes lack {name}")),
        (Some(_), Some(_)) => Err(format!("the signed attributes repeat {name}")),
    }
}

/// The signed attributes hold contentType = id-ct-TSTInfo and messageDigest = the TSTInfo's
/// digest: this is how the signature covers the TSTInfo.
fn attributes_bind_tst_info(token: &Token) -> Result<(), Problem> {
    let bound = (|| -> Result<(), String> {
        let content_type = single_attribute(token, OID_CONTENT_TYPE, "contentType")?;
        if content_type.decode_as::<ObjectIdentifier>().ok() != Some(OID_TST_INFO) {
            return Err("the signed contentType is not id-ct-TSTInfo".into());
        }
        let digest = single_attribute(token, OID_MESSAGE_DIGEST, "messageDigest")?
            .decode_as::<OctetString>()
            .map_err(|e| format!("messageDigest does not decode: {e}"))?;
        let expected = pki::hash(&token.signer.digest_alg.oid, &token.tst_der)
            .filter(|_| token.signer.digest_alg.oid != pki::OID_SHA1)
            .ok_or_else(|| {
                format!(
                    "unsupported digest algorithm {}",
                    token.signer.digest_alg.oid
                )
            })?;
        if digest.as_bytes() != expected.as_slice() {
            return Err("the signed messageDigest is not the TSTInfo's digest".into());
        }
        Ok(())
    })();
    bound.map_err(|why| ("timestamp-signature-invalid", why))
}

/// The signature over the DER of the signed attributes (as a SET OF) verifies with the signer
/// certificate's key.
fn signature_verifies(token: &Token, signer: &Certificate) -> Result<(), Problem> {
    let info = &token.signer;
    let verified = info.signed_attrs.as_ref().is_some_and(|attrs| {
        attrs.to_der().is_ok_and(|signed| {
            pki::verify_signature(
                signer,
                &info.signature_algorithm.oid,
                Some(&info.digest_alg.oid),
                &signed,
                info.signature.as_bytes(),
            )
        })
    });
    if verified {
        return Ok(());
    }
    Err((
        "timestamp-signature-invalid",
        "the TSA's signature does not verify".into(),
    ))
}

/// The ESS signingCertificate(V2) attribute names the certificate that verified the signature.
fn signing_certificate_is_signer(token: &Token, signer: &Certificate) -> Result<(), Problem> {
    let ids = ess::signer_ids(&token.signer).map_err(|why| ("timestamp-ess-mismatch", why))?;
    match ids.iter().find(|id| !id.names(signer)) {
        None => Ok(()),
        Some(id) => Err((
            "timestamp-ess-mismatch",
            format!(
                "{}, not the signer certificate '{}' the token carries",
                id.describe(),
                signer.tbs_certificate.subject
            ),
        )),
    }
}

/// The signer certificate has a critical extendedKeyUsage containing id-kp-timeStamping.
fn is_tsa_certificate(signer: &Certificate) -> Result<(), Problem> {
    let tsa = signer
        .tbs_certificate
        .extensions
        .as_ref()
        .is_some_and(|exts| {
            exts.iter().any(|ext| {
                ext.extn_id == OID_EXT_KEY_USAGE
                    && ext.critical
                    && x509_cert::ext::pkix::ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
                        .is_ok_and(|eku| eku.0.contains(&OID_KP_TIME_STAMPING))
            })
        });
    if tsa {
        return Ok(());
    }
    Err((
        "timestamp-not-tsa",
        "the signer certificate lacks the critical timeStamping extended key usage".into(),
    ))
}

/// The signer certificate chains to a root, every certificate valid at genTime.
fn chains_to_roots(
    token: &Token,
    signer: &Certificate,
    roots: &[Certificate],
) -> Result<(), Problem> {
    match pki::chain(signer, &token.certificates, roots, &token.tst.gen_time) {
        ChainEnd::Trusted => Ok(()),
        ChainEnd::Expired { subject, is_root } => Err((
            "timestamp-cert-expired",
            format!(
                "{} '{subject}' was not valid at the token's time",
                if is_root { "root" } else { "certificate" }
            ),
        )),
        ChainEnd::Untrusted => Err((
            "timestamp-untrusted",
            "the TSA's certificate does not chain to a root in --tsa-roots".into(),
        )),
    }
}

/// Parses PEM certificates (a roots file).
pub fn parse_pem_certificates(text: &str) -> Result<Vec<Certificate>, String> {
    // x509-cert's chain loader subtracts 1 from the length left after trailing line ends: an
    // empty file would underflow there.
    if text.trim_end_matches(['\r', '\n']).is_empty() {
        return Err("no certificate in the file".into());
    }
    let certs = Certificate::load_pem_chain(text.as_bytes()).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(certs)
}
