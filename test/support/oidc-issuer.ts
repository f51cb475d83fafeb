/**
 * A real OIDC-style issuer for tests: an HTTP server on a free loopback port serving a
 * discovery document and a JWKS, signing tokens with keys it generates itself (RS256
 * and ES256). Keys can be rotated mid-test; key-set fetches are counted, so a test can
 * prove caching and the rate limit on refreshes. Not a stand-in: the server under test
 * talks to it over HTTP exactly as it would to Keycloak or Auth0.
 */
import { createServer, type Server } from "node:http";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export interface SigningKey {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: CryptoKey;
  jwk: JWK;
}

export interface TestIssuer {
  url: string;
  /**
   * An access token for the server's audience and role, signed by the current RS256 key unless told
   * otherwise, typed `at+jwt` as RFC 9068 asks; `header` overrides (`typ: "JWT"` is what ID tokens,
   * and access tokens of issuers without RFC 9068, carry; `typ: undefined` leaves it out).
   */
  token(claims?: JWTPayload, options?: { key?: SigningKey; header?: Record<string, unknown> }): Promise<string>;
  /** Generates a fresh key of that algorithm; with `publish`, the JWKS serves it from now on. */
  newKey(alg?: "RS256" | "ES256", publish?: boolean): Promise<SigningKey>;
  /** Replaces the published RS256 key by a new one (the old one disappears from the JWKS). */
  rotate(): Promise<SigningKey>;
  current(): SigningKey;
  jwksFetches(): number;
  discoveryFetches(): number;
  close(): Promise<void>;
}

export const AUDIENCE = "iot-support-admin";
export const ROLE = "fleet-admin";

export async function startIssuer(): Promise<TestIssuer> {
  let published: SigningKey[] = [];
  let fetches = 0;
  let discoveries = 0;
  let counter = 0;
  let url = "";

  const newKey = async (alg: "RS256" | "ES256" = "RS256", publish = false): Promise<SigningKey> => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `key-${++counter}-${alg}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
    const key = { kid, alg, privateKey, jwk };
    if (publish) published.push(key);
    return key;
  };

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.url === "/.well-known/openid-configuration") {
      discoveries++;
      send(200, { issuer: url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ["RS256", "ES256"] });
    } else if (req.url === "/jwks") {
      fetches++;
      send(200, { keys: published.map((k) => k.jwk) });
    } else {
      send(404, { error: "not found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  let rsa = await newKey("RS256", true);
  await newKey("ES256", true);

  return {
    url,
    async token(claims = {}, options = {}) {
      const key = options.key ?? rsa;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ roles: [ROLE], ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "at+jwt", ...options.header })
        .setIssuer(typeof claims.iss === "string" ? claims.iss : url)
        .setAudience(claims.aud ?? AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(typeof claims.exp === "number" ? claims.exp : now + 3600)
        .setSubject("test-user")
        .sign(key.privateKey);
    },
    newKey,
    async rotate() {
      published = published.filter((k) => k !== rsa);
      rsa = await newKey("RS256", true);
      return rsa;
    },
    current: () => rsa,
    jwksFetches: () => fetches,
    discoveryFetches: () => discoveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
