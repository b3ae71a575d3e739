// Local OpenID Connect provider for the Scorecard browser tests. NEVER for production.
//
// Usage:  node tests/oidc/provider.mjs [PORT]
//   PORT            listen port on 127.0.0.1 (argv[2], else env PORT, else 0 = any free port)
//   APP_PORTS       comma-separated ports of Streamlit apps to register (default 8501; APP_PORT, one
//                   port, is accepted too): redirect URI http://localhost:<port>/oauth2callback, which
//                   is also the post-logout URI (st.logout sends redirect_uri there). Because tests
//                   start apps on free ports, the client ALSO accepts any
//                   http://localhost:<any port>/oauth2callback (see allowAnyLocalhostPort below).
//   OIDC_CLIENT_ID / OIDC_CLIENT_SECRET   default scorecard-test / scorecard-test-secret
//
// Issuer: http://127.0.0.1:<port> (IPv4 literal: `localhost` may resolve to ::1 first).
// The app itself must be opened as http://localhost:<app port>, the host in its redirect_uri.
//
// Login: the built-in devInteractions form (fields `login`, `password`, button "Sign-in") accepts any
// login and any password. The account id is the login exactly as typed, and the claims are
//   email = login (case kept, so case-insensitive roster matching gets tested),
//   email_verified = false when the login starts with "unverified" (any case), true otherwise,
//   name = the part before "@".
// Claims go into the ID token (conformIdTokenClaims: false): st.user only sees ID-token claims.
// No consent screen: loadExistingGrant grants the requested OpenID scopes to the one client.
//
// When listening it prints one line to stdout:  OIDC-PROVIDER-READY <issuer>
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const appPorts = (process.env.APP_PORTS ?? process.env.APP_PORT ?? '8501')
  .split(',').map((p) => p.trim()).filter(Boolean);
const clientId = process.env.OIDC_CLIENT_ID ?? 'scorecard-test';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'scorecard-test-secret';
const host = '127.0.0.1';

function claimsFor(login) {
  return {
    sub: login,
    email: login,
    email_verified: !login.toLowerCase().startsWith('unverified'),
    name: login.split('@')[0],
  };
}

function configuration() {
  const callbacks = appPorts.map((p) => `http://localhost:${p}/oauth2callback`);
  return {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      client_name: 'Scorecard (test)',
      redirect_uris: callbacks,
      post_logout_redirect_uris: callbacks,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: ['scorecard-test-cookie-key-not-secret'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() { return claimsFor(id); },
      };
    },
    async loadExistingGrant(ctx) {
      const { client, session } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!grant || grant.accountId !== session.accountId) {
        grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      }
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><html><head><title>oops</title></head><body><h1>oops! something went wrong</h1><pre>${
        Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<>&]/g, '')}`).join('\n')}</pre></body></html>`;
    },
  };
}

// Test apps listen on ports chosen at run time; accept their callback on any localhost port
// (same idea as RFC 8252 loopback redirects, which oidc-provider only applies to native clients).
const LOCAL_CALLBACK = /^http:\/\/localhost:\d{2,5}\/oauth2callback$/;
function allowAnyLocalhostPort(provider) {
  const proto = provider.Client.prototype;
  const redirect = proto.redirectUriAllowed;
  const postLogout = proto.postLogoutRedirectUriAllowed;
  proto.redirectUriAllowed = function (value) {
    return redirect.call(this, value) || LOCAL_CALLBACK.test(value);
  };
  proto.postLogoutRedirectUriAllowed = function (value) {
    return postLogout.call(this, value) || LOCAL_CALLBACK.test(value);
  };
}

// Bind first so that port 0 resolves to a real port before the issuer is fixed.

const server = http.createServer();
server.listen(port, host, () => {
  const actual = server.address().port;
  const issuer = `http://${host}:${actual}`;
  const provider = new Provider(issuer, configuration());
  provider.on('server_error', (ctx, err) => { console.error('server_error', err); });
  allowAnyLocalhostPort(provider);
  server.on('request', provider.callback());
  process.stdout.write(`OIDC-PROVIDER-READY ${issuer}\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { server.close(); process.exit(0); });
}
