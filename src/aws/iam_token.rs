//! RDS IAM authentication tokens: a SigV4 presigned URL (without its scheme) for
//! `https://<host>:<port>/?Action=connect&DBUser=<user>`, service `rds-db`, valid
//! for 15 minutes. Pure: the time and the credentials are given, so the token can be
//! checked byte for byte against a known one. A token is made for every connection
//! and never kept; it is a password, so it never reaches a log, an error or a report.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What RDS accepts: a token is good for 15 minutes from its signing time.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// SigV4 leaves only the RFC 3986 unreserved characters unencoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the token lets one log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRequest<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) user: &'a str,
    pub(crate) region: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    /// Names where, never the credentials.
    #[error("cannot sign an IAM token for user {user:?} at {host}:{port} in {region}: {reason}")]
    Signing {
        host: String,
        port: u16,
        user: String,
        region: String,
        reason: String,
    },
}

/// The token for `request`, signed with `credentials` at `time`.
pub(crate) fn auth_token(
    request: &TokenRequest<'_>,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<String, TokenError> {
    let failed = |reason: String| TokenError::Signing {
        host: request.host.to_owned(),
        port: request.port,
        user: request.user.to_owned(),
        region: request.region.to_owned(),
        reason,
    };
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| failed(e.to_string()))?
        .into();
    let unsigned = format!(
        "{}:{}/?Action=connect&DBUser={}",
        request.host,
        request.port,
        utf8_percent_encode(request.user, QUERY_VALUE)
    );
    let url = format!("https://{unsigned}");
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| failed(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| failed(e.to_string()))?
        .into_parts();
    let (_headers, query) = instructions.into_parts();
    let mut token = unsigned;
    for (name, value) in query {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.extend(utf8_percent_encode(value.as_ref(), QUERY_VALUE));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The expected tokens were made with botocore 1.43.11, its clock frozen:
    //   with mock.patch.object(botocore.auth.datetime, "datetime", Frozen):  # utcnow() = 2026-12-03 10:00:00
    //       botocore.session.get_session().create_client("rds", region_name="eu-west-1",
    //           aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
    //         .generate_db_auth_token(DBHostname=..., Port=5432, DBUsername=...)
    const KEY_ID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const AT: u64 = 1_796_292_000; // 2026-12-03T10:00:00Z

    fn token(host: &str, user: &str) -> String {
        let credentials = Credentials::new(KEY_ID, SECRET, None, None, "test");
        let request = TokenRequest {
            host,
            port: 5432,
            user,
            region: "eu-west-1",
        };
        auth_token(
            &request,
            &credentials,
            SystemTime::UNIX_EPOCH + Duration::from_secs(AT),
        )
        .unwrap()
    }

    #[test]
    fn matches_botocore_byte_for_byte() {
        assert_eq!(
            token("orders.cluster-abc.eu-west-1.rds.amazonaws.com", "index_pilot"),
            "orders.cluster-abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=index_pilot\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20261203%2Feu-west-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20261203T100000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=42c6afd7e1e2ade821ddec5cbc80d923b36e5bff96135bad54888234bf170813"
        );
    }

    #[test]
    fn a_user_name_that_needs_encoding_matches_botocore() {
        assert_eq!(
            token("127.0.0.1", "pilot user+1@x/é"),
            "127.0.0.1:5432/?Action=connect&DBUser=pilot%20user%2B1%40x%2F%C3%A9\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20261203%2Feu-west-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20261203T100000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=7a41f63d3312ce406a18b6a465d8da91ca1afaf0b28f3b7200f4eda9c543654c"
        );
    }
}
