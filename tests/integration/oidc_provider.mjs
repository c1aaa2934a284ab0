// oidc_provider.mjs - a real OpenID provider for the oauth suite: the
// certified npm package oidc-provider on 127.0.0.1, with one confidential
// client (PKCE required, client_secret_post) whose redirect URI is the
// stack's callback.
//
//   node oidc_provider.mjs NODE_MODULES PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Interactions (log-in and consent) complete by themselves for the account
// the test chose, so a plain HTTP client with cookies walks the redirects.
// The test steers it with POST /control {sub, email, email_verified,
// tamper}: the account signed in next, and whether the next token
// response's ID token is altered after signing (tamper: true).  Prints
// "READY" once listening.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const { default: Provider } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href);

const control = { sub: 'user-1', email: 'user1@example.com', email_verified: true, tamper: false };
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  pkce: { required: () => true },
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['tessera-test-cookie-key'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: control.email, email_verified: control.email_verified,
                           name: 'Test User' }),
  }),
});

async function readBody(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return data ? JSON.parse(data) : {};
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/control' && ctx.method === 'POST') {
    Object.assign(control, await readBody(ctx.req));
    ctx.body = control;
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const { prompt, params, session } = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (prompt.name === 'login') {
      result = { login: { accountId: control.sub } };
    } else {
      const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      result = { consent: { grantId: await grant.save() } };
    }
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result,
                                                  { mergeWithLastSubmission: false }));
    return;
  }
  await next();
  if (ctx.path === '/token' && control.tamper && ctx.body && ctx.body.id_token) {
    // Another email in the payload, the provider's signature kept.
    const [h, p, s] = ctx.body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.email = 'attacker@example.com';
    ctx.body = { ...ctx.body,
                 id_token: [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.') };
    control.tamper = false;
  }
});

provider.listen(Number(port), '127.0.0.1', () => console.log('READY'));
