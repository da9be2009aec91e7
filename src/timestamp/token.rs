//! RFC 3161 time-stamp tokens: building requests and checking tokens, offline.
//!
//! A token is a CMS SignedData (RFC 5652) whose content is a TSTInfo. It is valid for a
//! checkpoint when: the TSTInfo's message imprint is SHA-256 of the checkpoint's sealed bytes;
//! the signed attributes hold the TSTInfo's digest and content type; the signer's signature
//! over them verifies (RSA PKCS#1 v1.5 or ECDSA P-256/P-384, through aws-lc-rs); the signer
//! certificate carries the critical timeStamping extended key usage; and, given roots, the
//! certificates chain to one of them and were all valid at the token's time.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use cms::cert::x509::Certificate;
use cms::content_info::ContentInfo;
use cms::signed_data::SignerIdentifier;
use der::asn1::{Int, OctetString};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode};
use serde::Serialize;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::core::digest::Digest;

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
const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
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
    pub gen_time_unix: u64,
    pub gen_time: String,
    signed: LenientSignedData,
    tst_der: Vec<u8>,
}

/// SignedData read field by field: real TSAs send certificate SETs that are not in DER order
/// or repeat a certificate, which a strict SET OF decoder refuses. Nothing signed is affected:
/// the signature covers only the signed attributes.
struct LenientSignedData {
    encap_type: ObjectIdentifier,
    econtent: Option<Any>,
    certificates: Vec<Certificate>,
    signer_infos: Vec<cms::signed_data::SignerInfo>,
}

fn decode_all<T: for<'a> Decode<'a>>(bytes: &[u8]) -> Result<Vec<T>, String> {
    let mut reader = der::SliceReader::new(bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while !der::Reader::is_finished(&reader) {
        out.push(T::decode(&mut reader).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn parse_signed_data(content: &Any) -> Result<LenientSignedData, String> {
    let fields: Vec<Any> = decode_all(content.value())?;
    let mut iter = fields.into_iter().peekable();
    let _version = iter.next().ok_or("SignedData is empty")?;
    let _digest_algorithms = iter.next().ok_or("SignedData lacks digestAlgorithms")?;
    let encap: cms::signed_data::EncapsulatedContentInfo = iter
        .next()
        .ok_or("SignedData lacks its content")?
        .decode_as()
        .map_err(|e| e.to_string())?;
    let mut certificates = Vec::new();
    let mut signer_infos = Vec::new();
    for field in iter {
        let tag = der::Tagged::tag(&field);
        if tag.is_context_specific() && tag.number() == der::TagNumber::N0 {
            // [0] IMPLICIT CertificateSet: keep the plain certificates.
            for choice in decode_all::<Any>(field.value())? {
                if let Ok(cert) = choice.decode_as::<Certificate>() {
                    certificates.push(cert);
                }
            }
        } else if tag == der::Tag::Set {
            signer_infos = decode_all(field.value())?;
        }
    }
    Ok(LenientSignedData {
        encap_type: encap.econtent_type,
        econtent: encap.econtent,
        certificates,
        signer_infos,
    })
}

fn parse_token(token: &[u8]) -> Result<TokenInfo, String> {
    let info = ContentInfo::from_der(token).map_err(|e| format!("not a CMS ContentInfo: {e}"))?;
    if info.content_type != OID_SIGNED_DATA {
        return Err("the token is not CMS SignedData".into());
    }
    let signed =
        parse_signed_data(&info.content).map_err(|e| format!("malformed SignedData: {e}"))?;
    if signed.encap_type != OID_TST_INFO {
        return Err("the signed content is not a TSTInfo".into());
    }
    let econtent = signed.econtent.as_ref().ok_or("the token has no content")?;
    let tst_der = econtent
        .decode_as::<OctetString>()
        .map_err(|e| format!("malformed content: {e}"))?
        .into_bytes();
    let tst = TstInfo::from_der(&tst_der).map_err(|e| format!("malformed TSTInfo: {e}"))?;
    let imprint_sha256 = (tst.message_imprint.hash_algorithm.oid == OID_SHA256)
        .then(|| <[u8; 32]>::try_from(tst.message_imprint.hashed_message.as_bytes()).ok())
        .flatten();
    let unix = tst.gen_time.to_unix_duration().as_secs();
    Ok(TokenInfo {
        imprint_sha256,
        nonce: tst.nonce.map(|n| n.as_bytes().to_vec()),
        gen_time_unix: unix,
        gen_time: tst.gen_time.to_date_time().to_string(),
        signed,
        tst_der,
    })
}

/// Reads a token's imprint and nonce without checking its signature.
pub fn token_info(token: &[u8]) -> Result<TokenInfo, String> {
    parse_token(token)
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

fn hash(oid: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::digest;
    let alg = match *oid {
        o if o == OID_SHA256 => &digest::SHA256,
        o if o == OID_SHA384 => &digest::SHA384,
        o if o == OID_SHA512 => &digest::SHA512,
        _ => return None,
    };
    Some(digest::digest(alg, data).as_ref().to_vec())
}

/// Verifies `sig` over `msg` by the key in `cert`, for a signature algorithm (and, for plain
/// rsaEncryption, the digest algorithm).
fn verify_signature(
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
    let hash_of = |oid: &ObjectIdentifier| -> Option<u16> {
        match *oid {
            o if o == OID_SHA256 => Some(256),
            o if o == OID_SHA384 => Some(384),
            o if o == OID_SHA512 => Some(512),
            _ => None,
        }
    };
    let algorithm: Option<&'static dyn VerificationAlgorithm> = if spki.algorithm.oid == OID_RSA {
        let bits = match *sig_alg {
            o if o == OID_RSA_SHA256 => Some(256),
            o if o == OID_RSA_SHA384 => Some(384),
            o if o == OID_RSA_SHA512 => Some(512),
            o if o == OID_RSA => digest_alg.and_then(hash_of),
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

fn certificates(signed: &LenientSignedData) -> Vec<Certificate> {
    signed.certificates.clone()
}

fn valid_at(cert: &Certificate, unix: u64) -> bool {
    let v = &cert.tbs_certificate.validity;
    v.not_before.to_unix_duration().as_secs() <= unix
        && unix <= v.not_after.to_unix_duration().as_secs()
}

/// Whether `cert` may issue certificates: basicConstraints cA TRUE and, when keyUsage is
/// present, keyCertSign (RFC 5280 4.2.1.9, 4.2.1.3).
fn is_ca(cert: &Certificate) -> bool {
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
fn issued_by(cert: &Certificate, issuer: &Certificate) -> bool {
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

/// Checks a token against the expected imprint, and, given roots, its certificate chain.
pub fn check_token(token: &[u8], expected: &Digest, roots: Option<&[Certificate]>) -> TokenCheck {
    let mut check = TokenCheck {
        tsa: "(unknown)".into(),
        time: String::new(),
        status: "invalid",
        problems: Vec::new(),
    };
    let info = match parse_token(token) {
        Ok(info) => info,
        Err(why) => {
            check.problems.push(("timestamp-unreadable", why));
            return check;
        }
    };
    check.time = info.gen_time.clone();
    if info.imprint_sha256 != Some(expected.0) {
        check.problems.push((
            "timestamp-imprint-mismatch",
            "the token does not time-stamp this checkpoint's sealed bytes".into(),
        ));
    }
    let certs = certificates(&info.signed);
    let Some(signer_info) = info.signed.signer_infos.first() else {
        check.problems.push((
            "timestamp-signature-invalid",
            "the token has no signer".into(),
        ));
        return check;
    };
    let signer = certs.iter().find(|c| match &signer_info.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            c.tbs_certificate.issuer == id.issuer
                && c.tbs_certificate.serial_number == id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(_) => true,
    });
    let Some(signer) = signer else {
        check.problems.push((
            "timestamp-signature-invalid",
            "the token does not carry its signer's certificate (request it with certReq)".into(),
        ));
        return check;
    };
    check.tsa = signer.tbs_certificate.subject.to_string();

    // The signature covers the signed attributes, which must bind the TSTInfo.
    let signed_ok = (|| -> Result<(), String> {
        let attrs = signer_info
            .signed_attrs
            .as_ref()
            .ok_or("no signed attributes")?;
        let mut digest_ok = false;
        let mut type_ok = false;
        for attr in attrs.iter() {
            if attr.oid == OID_MESSAGE_DIGEST {
                let value = attr.values.iter().next().ok_or("empty messageDigest")?;
                let digest = value
                    .decode_as::<OctetString>()
                    .map_err(|e| e.to_string())?;
                let expected = hash(&signer_info.digest_alg.oid, &info.tst_der)
                    .ok_or("unsupported digest algorithm")?;
                digest_ok = digest.as_bytes() == expected.as_slice();
            }
            if attr.oid == OID_CONTENT_TYPE {
                let value = attr.values.iter().next().ok_or("empty contentType")?;
                type_ok = value.decode_as::<ObjectIdentifier>().ok() == Some(OID_TST_INFO);
            }
        }
        if !digest_ok || !type_ok {
            return Err("the signed attributes do not match the TSTInfo".into());
        }
        let signed_bytes = attrs.to_der().map_err(|e| e.to_string())?;
        if !verify_signature(
            signer,
            &signer_info.signature_algorithm.oid,
            Some(&signer_info.digest_alg.oid),
            &signed_bytes,
            signer_info.signature.as_bytes(),
        ) {
            return Err("the TSA's signature does not verify".into());
        }
        Ok(())
    })();
    if let Err(why) = signed_ok {
        check.problems.push(("timestamp-signature-invalid", why));
    }

    let eku_ok = signer
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
    if !eku_ok {
        check.problems.push((
            "timestamp-not-tsa",
            "the signer certificate lacks the critical timeStamping extended key usage".into(),
        ));
    }

    match roots {
        None => {}
        Some(roots) => {
            let mut current = signer.clone();
            let mut trusted = false;
            for _ in 0..8 {
                if !valid_at(&current, info.gen_time_unix) {
                    check.problems.push((
                        "timestamp-cert-expired",
                        format!(
                            "certificate '{}' was not valid at the token's time",
                            current.tbs_certificate.subject
                        ),
                    ));
                    break;
                }
                if let Some(root) = roots.iter().find(|r| issued_by(&current, r)) {
                    if !valid_at(root, info.gen_time_unix) {
                        check.problems.push((
                            "timestamp-cert-expired",
                            format!(
                                "root '{}' was not valid at the token's time",
                                root.tbs_certificate.subject
                            ),
                        ));
                    }
                    trusted = true;
                    break;
                }
                // Only a CA may issue: a leaf under the roots must not vouch for a TSA.
                match certs
                    .iter()
                    .find(|c| *c != &current && is_ca(c) && issued_by(&current, c))
                {
                    Some(next) => current = next.clone(),
                    None => break,
                }
            }
            if !trusted
                && !check
                    .problems
                    .iter()
                    .any(|(c, _)| *c == "timestamp-cert-expired")
            {
                check.problems.push((
                    "timestamp-untrusted",
                    "the TSA's certificate does not chain to a root in --tsa-roots".into(),
                ));
            }
        }
    }
    check.status = if !check.problems.is_empty() {
        "invalid"
    } else if roots.is_some() {
        "valid"
    } else {
        "chain-unchecked"
    };
    check
}

/// Parses PEM certificates (a roots file).
pub fn parse_pem_certificates(text: &str) -> Result<Vec<Certificate>, String> {
    let certs = Certificate::load_pem_chain(text.as_bytes()).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate in the file".into());
    }
    Ok(certs)
}
