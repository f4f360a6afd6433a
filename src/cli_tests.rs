use super::*;
use clap::CommandFactory;

#[test]
fn cli_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn durations() {
    assert_eq!(parse_duration_secs("90"), Ok(90));
    assert_eq!(parse_duration_secs("5m"), Ok(300));
    assert_eq!(parse_duration_secs("1h"), Ok(3600));
    assert!(parse_duration_secs("-1").is_err());
    assert!(parse_duration_secs("soon").is_err());
}

#[test]
fn value_enums_use_the_registered_names() {
    let names = |v: &[&dyn Fn() -> Option<clap::builder::PossibleValue>]| -> Vec<String> {
        v.iter()
            .filter_map(|f| f().map(|p| p.get_name().to_string()))
            .collect()
    };
    assert_eq!(
        names(&[
            &|| ClientAuthChoice::ClientSecretBasic.to_possible_value(),
            &|| ClientAuthChoice::ClientSecretPost.to_possible_value(),
            &|| ClientAuthChoice::PrivateKeyJwt.to_possible_value(),
        ]),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ]
    );
    assert_eq!(
        AssertionAudienceChoice::TokenEndpoint
            .to_possible_value()
            .unwrap()
            .get_name(),
        "token-endpoint"
    );
}

#[test]
fn the_fast_path_reads_vmauth_token_as_clap_does() {
    use clap::Parser;
    let args: Vec<std::ffi::OsString> = vec!["vmauth".into(), "token".into()];
    let fast = crate::parse_fast(&args).expect("the fast path takes `vmauth token`");
    let clap = Cli::try_parse_from(&args).unwrap();
    assert_eq!(format!("{fast:?}"), format!("{clap:?}"));
    // Anything else goes through clap.
    for other in [
        vec!["vmauth", "token", "-o", "json"],
        vec!["vmauth", "token", "--help"],
        vec!["vmauth", "--store", "file", "token"],
        vec!["vmauth", "status"],
        vec!["vmauth"],
        vec!["vmauth", "tokens"],
    ] {
        let args: Vec<std::ffi::OsString> = other.iter().map(Into::into).collect();
        assert!(crate::parse_fast(&args).is_none(), "{other:?}");
    }
}
