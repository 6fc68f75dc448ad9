// A real OpenID provider on loopback for the single sign-on tests (npm's oidc-provider, its
// development login and consent pages). Usage: node oidc_provider.mjs PORT REDIRECT_URI[,URI2] CLIENT_SECRET
// The login name typed on its page says who the person is: "ada@example.org" has a verified
// address; "unverified:ada@example.org" has the same address, not verified; "noemail:x" has none.
import Provider from 'oidc-provider';

const [port, redirectUri, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

function claimsFor(login) {
  if (login.startsWith('noemail:')) return { sub: login, name: 'No Address' };
  const verified = !login.startsWith('unverified:');
  const email = login.replace(/^unverified:/, '');
  return { sub: login, email, email_verified: verified, name: email.split('@')[0].replace(/^./, (c) => c.toUpperCase()) };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'quorum', client_secret: clientSecret, redirect_uris: redirectUri.split(','),
    grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return claimsFor(id); } };
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-only-cookie-key'] },
});
provider.listen(Number(port), '127.0.0.1', () => { console.log(`listening ${issuer}`); });
