
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'vmauth' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'vmauth'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'vmauth' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in (device flow or browser) and store the tokens')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a valid access token on stdout, refreshing it when needed')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with a valid token in its environment')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who is logged in, until when, and where the credentials are stored')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Revoke the tokens at the identity provider and remove the login')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the profiles of config.toml, with their issuer and client and whether a usable login exists for each')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for SHELL')
            [CompletionResult]::new('git-credential', 'git-credential', [CompletionResultType]::ParameterValue, 'git''s credential helper: a fresh token for the hosts a login serves')
            [CompletionResult]::new('cargo-credential', 'cargo-credential', [CompletionResultType]::ParameterValue, 'cargo''s credential provider: a fresh token for the registries a login serves')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'vmauth;login' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]')
            [CompletionResult]::new('--resource', '--resource', [CompletionResultType]::ParameterName, 'RFC 8707 resource indicator (repeatable)')
            [CompletionResult]::new('--client-auth', '--client-auth', [CompletionResultType]::ParameterName, 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer''s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]')
            [CompletionResult]::new('--key-id', '--key-id', [CompletionResultType]::ParameterName, '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]')
            [CompletionResult]::new('--client-assertion-file', '--client-assertion-file', [CompletionResultType]::ParameterName, 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform''s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]')
            [CompletionResult]::new('--assertion-audience', '--assertion-audience', [CompletionResultType]::ParameterName, 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'Not accepted: secrets on the command line leak into ps and shell history')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform''s token is the client assertion), jwt-bearer or token-exchange (the platform''s token is the grant) [env: VMAUTH_GRANT; default: device_code]')
            [CompletionResult]::new('--federated-token', '--federated-token', [CompletionResultType]::ParameterName, 'Where the CI platform''s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]')
            [CompletionResult]::new('--federated-audience', '--federated-audience', [CompletionResultType]::ParameterName, 'The audience to ask the CI platform''s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]')
            [CompletionResult]::new('--actor-token', '--actor-token', [CompletionResultType]::ParameterName, 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]')
            [CompletionResult]::new('--subject-token-type', '--subject-token-type', [CompletionResultType]::ParameterName, 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token')
            [CompletionResult]::new('--param', '--param', [CompletionResultType]::ParameterName, 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused')
            [CompletionResult]::new('--flow', '--flow', [CompletionResultType]::ParameterName, 'How to sign in: auto (the device flow when the provider offers it, else the browser), device, or browser [env: VMAUTH_FLOW; default: auto]')
            [CompletionResult]::new('--redirect-port', '--redirect-port', [CompletionResultType]::ParameterName, 'The browser flow''s loopback port, for a provider that registers the redirect URI with its port (default: any free port)')
            [CompletionResult]::new('--redirect-uri', '--redirect-uri', [CompletionResultType]::ParameterName, 'The browser flow''s redirect URI exactly as registered: `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the sign-in in the browser')
            [CompletionResult]::new('--save-profile', '--save-profile', [CompletionResultType]::ParameterName, 'After logging in, save the options used as profile NAME in config.toml')
            [CompletionResult]::new('--authorization-server', '--authorization-server', [CompletionResultType]::ParameterName, 'Starting from an API whose metadata names several authorization servers: the one to sign in with')
            [CompletionResult]::new('--client-metadata-url', '--client-metadata-url', [CompletionResultType]::ParameterName, 'Starting from an API: identify vmauth by this Client ID Metadata Document (an https URL) where the server takes them')
            [CompletionResult]::new('--registration-token-file', '--registration-token-file', [CompletionResultType]::ParameterName, 'Starting from an API: the initial access token a server requires for registration (RFC 7591), read from this file (or VMAUTH_REGISTRATION_TOKEN)')
            [CompletionResult]::new('--client-credentials', '--client-credentials', [CompletionResultType]::ParameterName, 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the client secret from standard input')
            [CompletionResult]::new('--no-qr', '--no-qr', [CompletionResultType]::ParameterName, 'Do not show the QR code')
            [CompletionResult]::new('--qr', '--qr', [CompletionResultType]::ParameterName, 'Show the QR code even when stderr is not a terminal')
            [CompletionResult]::new('--browser', '--browser', [CompletionResultType]::ParameterName, 'Sign in with this machine''s browser (or paste the address it was sent to): --flow browser')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'Sign in with a code entered on any device: --flow device')
            [CompletionResult]::new('--open', '--open', [CompletionResultType]::ParameterName, 'Open the sign-in page in a browser (the browser flow does where one is plausible; the device flow only with this flag)')
            [CompletionResult]::new('--no-open', '--no-open', [CompletionResultType]::ParameterName, 'Never open a browser; only print the address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;token' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]')
            [CompletionResult]::new('--resource', '--resource', [CompletionResultType]::ParameterName, 'RFC 8707 resource indicator (repeatable)')
            [CompletionResult]::new('--client-auth', '--client-auth', [CompletionResultType]::ParameterName, 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer''s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]')
            [CompletionResult]::new('--key-id', '--key-id', [CompletionResultType]::ParameterName, '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]')
            [CompletionResult]::new('--client-assertion-file', '--client-assertion-file', [CompletionResultType]::ParameterName, 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform''s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]')
            [CompletionResult]::new('--assertion-audience', '--assertion-audience', [CompletionResultType]::ParameterName, 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'Not accepted: secrets on the command line leak into ps and shell history')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform''s token is the client assertion), jwt-bearer or token-exchange (the platform''s token is the grant) [env: VMAUTH_GRANT; default: device_code]')
            [CompletionResult]::new('--federated-token', '--federated-token', [CompletionResultType]::ParameterName, 'Where the CI platform''s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]')
            [CompletionResult]::new('--federated-audience', '--federated-audience', [CompletionResultType]::ParameterName, 'The audience to ask the CI platform''s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]')
            [CompletionResult]::new('--actor-token', '--actor-token', [CompletionResultType]::ParameterName, 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]')
            [CompletionResult]::new('--subject-token-type', '--subject-token-type', [CompletionResultType]::ParameterName, 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token')
            [CompletionResult]::new('--param', '--param', [CompletionResultType]::ParameterName, 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh when less than this is left (seconds, or with s/m/h suffix; at most half the token''s lifetime) [env: VMAUTH_MIN_TTL; default: 60]')
            [CompletionResult]::new('--token-type', '--token-type', [CompletionResultType]::ParameterName, 'Which token of the login [env: VMAUTH_TOKEN_TYPE; default: access]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print the token [env: VMAUTH_OUTPUT; default: raw]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print the token [env: VMAUTH_OUTPUT; default: raw]')
            [CompletionResult]::new('--client-credentials', '--client-credentials', [CompletionResultType]::ParameterName, 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the client secret from standard input')
            [CompletionResult]::new('--force-refresh', '--force-refresh', [CompletionResultType]::ParameterName, 'Refresh now (for client credentials: request a new token) even when the cached token is still good, e.g. after it was revoked at the identity provider')
            [CompletionResult]::new('--exchange', '--exchange', [CompletionResultType]::ParameterName, 'Exchange the login''s access token (RFC 8693) for one for --audience AUD, kept as its own login and exchanged again when it runs out')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;exec' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]')
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]')
            [CompletionResult]::new('--resource', '--resource', [CompletionResultType]::ParameterName, 'RFC 8707 resource indicator (repeatable)')
            [CompletionResult]::new('--client-auth', '--client-auth', [CompletionResultType]::ParameterName, 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer''s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]')
            [CompletionResult]::new('--client-secret-file', '--client-secret-file', [CompletionResultType]::ParameterName, 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]')
            [CompletionResult]::new('--private-key', '--private-key', [CompletionResultType]::ParameterName, 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]')
            [CompletionResult]::new('--key-id', '--key-id', [CompletionResultType]::ParameterName, '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]')
            [CompletionResult]::new('--client-assertion-file', '--client-assertion-file', [CompletionResultType]::ParameterName, 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform''s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]')
            [CompletionResult]::new('--assertion-audience', '--assertion-audience', [CompletionResultType]::ParameterName, 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'Not accepted: secrets on the command line leak into ps and shell history')
            [CompletionResult]::new('--grant', '--grant', [CompletionResultType]::ParameterName, 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform''s token is the client assertion), jwt-bearer or token-exchange (the platform''s token is the grant) [env: VMAUTH_GRANT; default: device_code]')
            [CompletionResult]::new('--federated-token', '--federated-token', [CompletionResultType]::ParameterName, 'Where the CI platform''s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]')
            [CompletionResult]::new('--federated-audience', '--federated-audience', [CompletionResultType]::ParameterName, 'The audience to ask the CI platform''s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]')
            [CompletionResult]::new('--actor-token', '--actor-token', [CompletionResultType]::ParameterName, 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]')
            [CompletionResult]::new('--subject-token-type', '--subject-token-type', [CompletionResultType]::ParameterName, 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token')
            [CompletionResult]::new('--param', '--param', [CompletionResultType]::ParameterName, 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused')
            [CompletionResult]::new('--min-ttl', '--min-ttl', [CompletionResultType]::ParameterName, 'Refresh when less than this is left (seconds, or with s/m/h suffix; at most half the token''s lifetime) [env: VMAUTH_MIN_TTL; default: 60]')
            [CompletionResult]::new('--token-type', '--token-type', [CompletionResultType]::ParameterName, 'Which token of the login [env: VMAUTH_TOKEN_TYPE; default: access]')
            [CompletionResult]::new('--env', '--env', [CompletionResultType]::ParameterName, 'The environment variable that gets the token [default: VMAUTH_TOKEN]')
            [CompletionResult]::new('--client-credentials', '--client-credentials', [CompletionResultType]::ParameterName, 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)')
            [CompletionResult]::new('--client-secret-stdin', '--client-secret-stdin', [CompletionResultType]::ParameterName, 'Read the client secret from standard input')
            [CompletionResult]::new('--force-refresh', '--force-refresh', [CompletionResultType]::ParameterName, 'Refresh now (for client credentials: request a new token) even when the cached token is still good, e.g. after it was revoked at the identity provider')
            [CompletionResult]::new('--exchange', '--exchange', [CompletionResultType]::ParameterName, 'Exchange the login''s access token (RFC 8693) for one for --audience AUD, kept as its own login and exchanged again when it runs out')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;status' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON document on stdout (format documented in README.md)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show every stored login, not only the selected one')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;logout' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]')
            [CompletionResult]::new('--audience', '--audience', [CompletionResultType]::ParameterName, 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Log out of every stored login')
            [CompletionResult]::new('--unregister', '--unregister', [CompletionResultType]::ParameterName, 'Also delete the client registration vmauth made at the login''s authorization server (RFC 7592), where the server offers it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;profiles' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;completions' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;git-credential' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;cargo-credential' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Where credentials live [env: VMAUTH_STORE; default: auto]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]')
            [CompletionResult]::new('--cargo-plugin', '--cargo-plugin', [CompletionResultType]::ParameterName, 'Added by cargo when it runs a credential provider')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'vmauth;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in (device flow or browser) and store the tokens')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print a valid access token on stdout, refreshing it when needed')
            [CompletionResult]::new('exec', 'exec', [CompletionResultType]::ParameterValue, 'Run a command with a valid token in its environment')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who is logged in, until when, and where the credentials are stored')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Revoke the tokens at the identity provider and remove the login')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the profiles of config.toml, with their issuer and client and whether a usable login exists for each')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for SHELL')
            [CompletionResult]::new('git-credential', 'git-credential', [CompletionResultType]::ParameterValue, 'git''s credential helper: a fresh token for the hosts a login serves')
            [CompletionResult]::new('cargo-credential', 'cargo-credential', [CompletionResultType]::ParameterValue, 'cargo''s credential provider: a fresh token for the registries a login serves')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'vmauth;help;login' {
            break
        }
        'vmauth;help;token' {
            break
        }
        'vmauth;help;exec' {
            break
        }
        'vmauth;help;status' {
            break
        }
        'vmauth;help;logout' {
            break
        }
        'vmauth;help;profiles' {
            break
        }
        'vmauth;help;completions' {
            break
        }
        'vmauth;help;git-credential' {
            break
        }
        'vmauth;help;cargo-credential' {
            break
        }
        'vmauth;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
