//! The ESS signing-certificate binding (RFC 3161 §2.4.1, RFC 2634 §5.4 signingCertificate,
//! RFC 5035 signingCertificateV2): a signed attribute naming, by its hash, the certificate the
//! TSA signed with. Without it, anyone holding another certificate for the same key (or a
//! certificate forged to look like the TSA's) could swap it into the unsigned certificate set.

use cms::cert::x509::ext::pkix::name::GeneralName;
use cms::cert::x509::serial_number::SerialNumber;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::x509::Certificate;
use cms::signed_data::SignerInfo;
use der::asn1::{BitString, OctetString};
use der::oid::ObjectIdentifier;
use der::{Any, Encode, Sequence};

use super::pki::{self, OID_SHA1, OID_SHA256};

const OID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial: SerialNumber,
    #[asn1(optional = "true")]
    issuer_uid: Option<BitString>,
}

/// RFC 2634 §5.4.1: the hash is SHA-1.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

/// RFC 5035 §4: hashAlgorithm DEFAULT id-sha256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Vec<Any>>,
}

/// How one ESS attribute names the signer certificate: its first ESSCertID.
pub struct SignerId {
    attribute: &'static str,
    hash_algorithm: ObjectIdentifier,
    cert_hash: Vec<u8>,
    issuer_serial: Option<IssuerSerial>,
}

impl SignerId {
    /// Whether this names `cert`: the hash of its DER matches and, when given, so do the
    /// issuer (as a directoryName) and serial number.
    pub fn names(&self, cert: &Certificate) -> bool {
        let Ok(der) = cert.to_der() else {
            return false;
        };
        let hash_ok = pki::hash(&self.hash_algorithm, &der).as_deref() == Some(&self.cert_hash[..]);
        let issuer_ok = self.issuer_serial.as_ref().is_none_or(|is| {
            is.serial == cert.tbs_certificate.serial_number
                && is.issuer.iter().any(|name| {
                    matches!(name, GeneralName::DirectoryName(n) if *n == cert.tbs_certificate.issuer)
                })
        });
        hash_ok && issuer_ok
    }

    pub fn describe(&self) -> String {
        format!(
            "{} names a certificate with hash {} ({})",
            self.attribute,
            hex::encode(&self.cert_hash),
            self.hash_algorithm
        )
    }
}

/// The signer certificate as each ESS attribute in the signed attributes names it. At least
/// one of signingCertificate and signingCertificateV2 must be present (RFC 3161 §2.4.1,
/// RFC 5816), each with exactly one value whose list is not empty.
pub fn signer_ids(signer: &SignerInfo) -> Result<Vec<SignerId>, String> {
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the token has no signed attributes")?;
    let mut ids = Vec::new();
    for attr in attrs.iter() {
        let name = match attr.oid {
            o if o == OID_SIGNING_CERTIFICATE => "signingCertificate",
            o if o == OID_SIGNING_CERTIFICATE_V2 => "signingCertificateV2",
            _ => continue,
        };
        let [value] = attr.values.as_slice() else {
            return Err(format!("the {name} attribute must hold exactly one value"));
        };
        let unreadable = |e: der::Error| format!("the {name} attribute does not decode: {e}");
        let id = if attr.oid == OID_SIGNING_CERTIFICATE {
            let value: SigningCertificate = value.decode_as().map_err(unreadable)?;
            value.certs.into_iter().next().map(|first| SignerId {
                attribute: name,
                hash_algorithm: OID_SHA1,
                cert_hash: first.cert_hash.into_bytes(),
                issuer_serial: first.issuer_serial,
            })
        } else {
            let value: SigningCertificateV2 = value.decode_as().map_err(unreadable)?;
            value.certs.into_iter().next().map(|first| SignerId {
                attribute: name,
                hash_algorithm: first.hash_algorithm.map_or(OID_SHA256, |a| a.oid),
                cert_hash: first.cert_hash.into_bytes(),
                issuer_serial: first.issuer_serial,
            })
        };
        ids.push(id.ok_or_else(|| format!("the {name} attribute names no certificate"))?);
    }
    if ids.is_empty() {
        return Err(
            "the signed attributes lack the ESS signingCertificate(V2) attribute that \
                    binds the signer certificate (RFC 3161 §2.4.1)"
                .into(),
        );
    }
    Ok(ids)
}
