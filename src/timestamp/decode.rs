//! Strict decoding of an RFC 3161 time-stamp token (a CMS SignedData over a TSTInfo).
//!
//! Everything that DER demands is checked by re-encoding each part and comparing it with the
//! bytes received: the TSTInfo (RFC 3161 §2.4.2: "the DER-encoded value of TSTInfo"), each
//! carried certificate and the SignerInfo (its signed attributes are what the signature covers).
//! A part that does not decode makes the whole token unreadable; nothing is dropped. The one
//! leniency kept: the certificate SET may be out of DER order or repeat a certificate, as real
//! TSAs send it; the set is not signed and each certificate in it is still decoded strictly.

use cms::cert::x509::ext::pkix::name::GeneralName;
use cms::cert::x509::ext::Extensions;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::cert::x509::Certificate;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfo};
use der::asn1::{Int, OctetString, SetOfVec};
use der::oid::ObjectIdentifier;
use der::{
    Any, DateTime, Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader,
    Sequence, Tag, TagNumber, Tagged, Writer,
};
use x509_tsp::{Accuracy, MessageImprint, TspVersion};

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
pub const OID_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Why a token could not be taken apart: `Unreadable` when it does not decode at all,
/// `Malformed` when it decodes but breaks a rule of RFC 5652 / RFC 3161 or of DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flaw {
    Unreadable(String),
    Malformed(String),
}

impl Flaw {
    pub fn code(&self) -> &'static str {
        match self {
            Flaw::Unreadable(_) => "timestamp-unreadable",
            Flaw::Malformed(_) => "timestamp-malformed",
        }
    }

    pub fn why(&self) -> &str {
        match self {
            Flaw::Unreadable(why) | Flaw::Malformed(why) => why,
        }
    }
}

fn unreadable(why: impl Into<String>) -> Flaw {
    Flaw::Unreadable(why.into())
}

fn malformed(why: impl Into<String>) -> Flaw {
    Flaw::Malformed(why.into())
}

/// A token, taken apart.
pub struct Token {
    pub tst: TstInfo,
    /// The TSTInfo as signed (the eContent octets).
    pub tst_der: Vec<u8>,
    pub certificates: Vec<Certificate>,
    /// The one SignerInfo RFC 3161 §2.4.2 allows.
    pub signer: SignerInfo,
}

/// TSTInfo (RFC 3161 §2.4.2), as x509-tsp declares it but with a genTime that may carry
/// fractional seconds.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    pub version: TspVersion,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// A genTime: GeneralizedTime `YYYYMMDDhhmmss[.f...]Z` (RFC 3161 §2.4.2: seconds always
/// present, UTC, a fraction without trailing zeros and no decimal point when it is zero).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct GenTime {
    pub date_time: DateTime,
    /// The fraction's digits, without the point ("" for a whole second).
    pub fraction: String,
}

/// Longest fraction accepted (picoseconds; no TSA is that precise).
const MAX_FRACTION_DIGITS: usize = 12;

impl GenTime {
    pub fn parse(text: &[u8]) -> Option<GenTime> {
        let text = std::str::from_utf8(text).ok()?;
        let body = text.strip_suffix('Z')?;
        let (whole, fraction) = match body.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (body, ""),
        };
        if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let fraction_ok = fraction.is_empty()
            || (fraction.len() <= MAX_FRACTION_DIGITS
                && fraction.bytes().all(|b| b.is_ascii_digit())
                && !fraction.ends_with('0'));
        if !fraction_ok || body.ends_with('.') {
            return None;
        }
        let number = |range: std::ops::Range<usize>| whole[range].parse::<u16>().ok();
        let date_time = DateTime::new(
            number(0..4)?,
            u8::try_from(number(4..6)?).ok()?,
            u8::try_from(number(6..8)?).ok()?,
            u8::try_from(number(8..10)?).ok()?,
            u8::try_from(number(10..12)?).ok()?,
            u8::try_from(number(12..14)?).ok()?,
        )
        .ok()?;
        Some(GenTime {
            date_time,
            fraction: fraction.to_string(),
        })
    }

    /// Whole seconds since the Unix epoch (the instant lies in [this, this + 1)).
    pub fn unix_floor(&self) -> u64 {
        self.date_time.unix_duration().as_secs()
    }

    /// The first whole second at or after the instant.
    pub fn unix_ceil(&self) -> u64 {
        self.unix_floor() + u64::from(!self.fraction.is_empty())
    }

    fn encoded(&self) -> String {
        let d = &self.date_time;
        let point = if self.fraction.is_empty() { "" } else { "." };
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{point}{}Z",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minutes(),
            d.seconds(),
            self.fraction
        )
    }
}

impl std::fmt::Display for GenTime {
    /// RFC 3339, e.g. `2026-11-30T19:03:44.123Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whole = self.date_time.to_string();
        match whole.strip_suffix('Z') {
            Some(stem) if !self.fraction.is_empty() => write!(f, "{stem}.{}Z", self.fraction),
            _ => f.write_str(&whole),
        }
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        GenTime::parse(&bytes).ok_or_else(|| Tag::GeneralizedTime.value_error())
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.encoded().len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.encoded().as_bytes())
    }
}

/// Every TLV in `bytes`, in order.
fn elements(bytes: &[u8]) -> Result<Vec<Any>, String> {
    let mut reader = der::SliceReader::new(bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(Any::decode(&mut reader).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

/// Decodes `element` as `T` and requires its DER re-encoding to be the bytes received.
fn strict<T: for<'a> Decode<'a> + Encode>(element: &Any, what: &str) -> Result<T, Flaw> {
    let bytes = element
        .to_der()
        .map_err(|e| unreadable(format!("{what}: {e}")))?;
    let value =
        T::from_der(&bytes).map_err(|e| unreadable(format!("{what} does not decode: {e}")))?;
    if value.to_der().ok().as_deref() != Some(bytes.as_slice()) {
        return Err(malformed(format!("{what} is not in DER")));
    }
    Ok(value)
}

fn is_context(element: &Any, number: TagNumber) -> bool {
    let tag = element.tag();
    tag.is_context_specific() && tag.is_constructed() && tag.number() == number
}

/// Takes a token apart, strictly.
pub fn decode_token(token: &[u8]) -> Result<Token, Flaw> {
    let info = ContentInfo::from_der(token)
        .map_err(|e| unreadable(format!("not a CMS ContentInfo: {e}")))?;
    if info.content_type != OID_SIGNED_DATA {
        return Err(unreadable("the token is not CMS SignedData"));
    }
    if info.content.tag() != Tag::Sequence {
        return Err(unreadable(format!(
            "SignedData is tagged {}, not SEQUENCE",
            info.content.tag()
        )));
    }
    let fields = elements(info.content.value())
        .map_err(|e| unreadable(format!("malformed SignedData: {e}")))?;
    let mut fields = fields.into_iter().peekable();
    let mut next = |what: &str, tag: Tag| -> Result<Any, Flaw> {
        match fields.next() {
            Some(field) if field.tag() == tag => Ok(field),
            Some(field) => Err(unreadable(format!(
                "SignedData {what} is tagged {}, not {tag}",
                field.tag()
            ))),
            None => Err(unreadable(format!("SignedData lacks its {what}"))),
        }
    };
    let version: CmsVersion = strict(&next("version", Tag::Integer)?, "the SignedData version")?;
    let digest_algorithms: SetOfVec<AlgorithmIdentifierOwned> = strict(
        &next("digestAlgorithms", Tag::Set)?,
        "SignedData digestAlgorithms",
    )?;
    let encap: EncapsulatedContentInfo =
        strict(&next("content", Tag::Sequence)?, "the encapsulated content")?;
    let mut certificates = Vec::new();
    let mut signer_infos = None;
    for field in fields {
        if signer_infos.is_some() {
            return Err(unreadable("SignedData has fields after its signerInfos"));
        }
        if is_context(&field, TagNumber::N0) && certificates.is_empty() {
            certificates = decode_certificates(&field)?;
        } else if is_context(&field, TagNumber::N1) {
            // [1] revocation information: not used offline, but it must be well-formed.
            elements(field.value()).map_err(|e| unreadable(format!("malformed crls: {e}")))?;
        } else if field.tag() == Tag::Set {
            signer_infos = Some(field);
        } else {
            return Err(unreadable(format!(
                "SignedData has an unexpected field tagged {}",
                field.tag()
            )));
        }
    }
    let signer =
        decode_signer(&signer_infos.ok_or_else(|| unreadable("SignedData lacks signerInfos"))?)?;
    if version != CmsVersion::V3 {
        return Err(malformed(format!(
            "the SignedData version is {}; RFC 5652 §5.1 demands 3 for TSTInfo content",
            version as u8
        )));
    }
    if let Some(odd) = digest_algorithms
        .iter()
        .chain([&signer.digest_alg])
        .find(|a| !plain_digest_identifier(a))
    {
        return Err(malformed(format!(
            "digest algorithm {} carries parameters; RFC 5754 §2 allows none or NULL",
            odd.oid
        )));
    }
    let digest_algorithms: Vec<ObjectIdentifier> =
        digest_algorithms.iter().map(|a| a.oid).collect();
    if !digest_algorithms.contains(&signer.digest_alg.oid) {
        return Err(malformed(format!(
            "SignedData digestAlgorithms ({}) does not list the signer's digest algorithm {}",
            digest_algorithms
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            signer.digest_alg.oid
        )));
    }
    let (tst, tst_der) = decode_tst_info(&encap)?;
    Ok(Token {
        tst,
        tst_der,
        certificates,
        signer,
    })
}

/// A digest AlgorithmIdentifier's parameters are absent or NULL.
fn plain_digest_identifier(alg: &AlgorithmIdentifierOwned) -> bool {
    alg.parameters
        .as_ref()
        .is_none_or(|p| p.tag() == Tag::Null && p.value().is_empty())
}

/// The [0] IMPLICIT CertificateSet: each element must be an X.509 certificate in DER.
fn decode_certificates(field: &Any) -> Result<Vec<Certificate>, Flaw> {
    let choices =
        elements(field.value()).map_err(|e| unreadable(format!("malformed certificates: {e}")))?;
    let mut out = Vec::new();
    for (index, choice) in choices.iter().enumerate() {
        let what = format!("certificate #{} of the token", index + 1);
        if choice.tag() != Tag::Sequence {
            return Err(unreadable(format!(
                "{what} is tagged {}, not an X.509 certificate (RFC 3161 tokens carry X.509 certificates)",
                choice.tag()
            )));
        }
        out.push(strict::<Certificate>(choice, &what)?);
    }
    Ok(out)
}

/// The SignerInfos SET: exactly one SignerInfo, in DER, of the version its identifier demands.
fn decode_signer(set: &Any) -> Result<SignerInfo, Flaw> {
    let infos =
        elements(set.value()).map_err(|e| unreadable(format!("malformed signerInfos: {e}")))?;
    let [info] = infos.as_slice() else {
        return Err(malformed(format!(
            "the token has {} SignerInfos; RFC 3161 §2.4.2 allows only the TSA's",
            infos.len()
        )));
    };
    let signer: SignerInfo = strict(info, "the SignerInfo")?;
    let expected = match signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
        SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
    };
    if signer.version != expected {
        return Err(malformed(format!(
            "the SignerInfo version is {}, but its signer identifier demands {} (RFC 5652 §5.3)",
            signer.version as u8, expected as u8
        )));
    }
    Ok(signer)
}

fn decode_tst_info(encap: &EncapsulatedContentInfo) -> Result<(TstInfo, Vec<u8>), Flaw> {
    if encap.econtent_type != OID_TST_INFO {
        return Err(unreadable("the signed content is not a TSTInfo"));
    }
    let econtent = encap
        .econtent
        .as_ref()
        .ok_or_else(|| unreadable("the token has no content"))?;
    let tst_der = econtent
        .decode_as::<OctetString>()
        .map_err(|e| unreadable(format!("malformed content: {e}")))?
        .into_bytes();
    let tst =
        TstInfo::from_der(&tst_der).map_err(|e| unreadable(format!("malformed TSTInfo: {e}")))?;
    if tst.to_der().ok().as_deref() != Some(tst_der.as_slice()) {
        return Err(malformed(
            "the TSTInfo is not in DER (RFC 3161 §2.4.2 demands its DER encoding)",
        ));
    }
    Ok((tst, tst_der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_time_accepts_whole_and_fractional_seconds() {
        let whole = GenTime::parse(b"20261130190344Z").expect("whole");
        assert_eq!(whole.to_string(), "2026-11-30T19:03:44Z");
        assert_eq!(
            (whole.unix_floor(), whole.unix_ceil()),
            (1_796_065_424, 1_796_065_424)
        );
        let fraction = GenTime::parse(b"20261130190344.125Z").expect("fraction");
        assert_eq!(fraction.to_string(), "2026-11-30T19:03:44.125Z");
        assert_eq!(fraction.unix_ceil(), fraction.unix_floor() + 1);
        assert_eq!(
            fraction.to_der().expect("der")[2..],
            *b"20261130190344.125Z"
        );
    }

    #[test]
    fn gen_time_refuses_what_rfc_3161_forbids() {
        for bad in [
            "20261130190344.120Z",           // trailing zero
            "20261130190344.0Z",             // a zero fraction is written without the point
            "20261130190344.Z",              // point without digits
            "20261130190344,5Z",             // comma
            "20261130190344",                // local time
            "20261130190344+0100",           // offset
            "202611301903Z",                 // no seconds
            "20261330190344Z",               // month 13
            "20261130190344.1234567890123Z", // beyond picoseconds
        ] {
            assert!(GenTime::parse(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
