// A real OpenID provider (npm `oidc-provider`) for the end-to-end test of tokens
// (tests/api/test_openid_provider.py): one confidential client that gets JWT access tokens by the
// client-credentials grant, for the audience AUDIENCE, with roles where Keycloak puts them
// (`realm_access.roles`) and the application in a claim of its own (`tenant`).
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const audience = process.env.AUDIENCE;
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'appointments',
        audience,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  extraTokenClaims: () => ({
    realm_access: { roles: JSON.parse(process.env.ROLES) },
    tenant: process.env.APPLICATION,
  }),
  jwks: JSON.parse(process.env.JWKS),
  ttl: { ClientCredentials: 600 },
});
provider.listen(port, '127.0.0.1', () => console.log('ready'));
