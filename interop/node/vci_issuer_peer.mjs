// @openid4vc/openid4vci and @openid4vc/oauth2 0.4.6 (OpenWallet Foundation) as an OpenID4VCI 1.0
// Credential Issuer, its own Authorization Server, that kmid's wallet receives credentials from.
//
//   node vci_issuer_peer.mjs setup DIR ISSUER_URL
//        Writes DIR/issuer-state.json (the keys as private JWKs and what is pending),
//        DIR/peer-issuer.jwk (the public key credentials are signed with, kid peer-issuer-1) and
//        makes a pre-authorized code offer by value for peer_identity_sd_jwt with a 6-digit
//        tx_code. Prints {"offer": "openid-credential-offer://?credential_offer=…", "tx_code": "…"}.
//   node vci_issuer_peer.mjs handle DIR
//        One HTTP request as JSON on stdin, {"method", "url", "headers": {name: value}, "body"};
//        prints the response, {"status", "headers", "body"} (body a string, "" for none). The
//        state is loaded from and saved back to DIR/issuer-state.json on every call. The
//        authorization code flow also reads DIR/wallet-client.json ({"client_id",
//        "redirect_uri"}: the one registered client) and DIR/wallet-provider.pem (the wallet
//        provider's root certificate, the anchor under which Client Attestations' x5c end).
//
// Served under ISSUER_URL: /.well-known/openid-credential-issuer and
// /.well-known/oauth-authorization-server (both RFC 8414-style, origin + well-known + path, and
// appended to the identifier), /jwks (the access-token key), /par, /authorize, /token, /nonce,
// /credential, /notification. Every token is DPoP-bound; the token and resource endpoints want a
// DPoP nonce (use_dpop_nonce) and every answer of theirs, and of /par, carries a fresh DPoP-Nonce.
//
// The libraries verify; they keep no state and make no credentials. What needs memory (single
// use of codes, nonces and jtis; tx_code attempts) and the SD-JWT VC itself are written here,
// with node:crypto only (ES256, SHA-256, X.509 chains).
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Openid4vciIssuer, Openid4vciVersion } from '@openid4vc/openid4vci'
import {
  Oauth2AuthorizationServer, Oauth2ResourceServer, Oauth2ResourceUnauthorizedError,
  Oauth2ServerErrorResponseError, authorizationCodeGrantIdentifier, calculateJwkThumbprint, decodeJwt,
  parsePushedAuthorizationRequestUriReferenceValue, preAuthorizedCodeGrantIdentifier,
  pushedAuthorizationRequestUriPrefix,
} from '@openid4vc/oauth2'

const CONFIGURATION_ID = 'peer_identity_sd_jwt'
const VCT = 'urn:example:kmid-interop:peer-id:1'
const SCOPE = 'peer_identity'
const CLAIMS = { given_name: 'Jiwoo', family_name: 'Kim', birthdate: '1990-01-01' }
const CREDENTIAL_KID = 'peer-issuer-1'
const ACCESS_TOKEN_KID = 'peer-access-token-1'
const BATCH_SIZE = 3
const WINDOW = 300 // seconds: nonce lifetimes and how old a DPoP/PoP/proof iat may be
const AHEAD = 60 // how far ahead of our clock an iat may be

const [verb, dir, issuerArgument] = process.argv.slice(2)
if (!['setup', 'handle'].includes(verb) || !dir || (verb === 'setup' && !issuerArgument)) {
  console.error('usage: vci_issuer_peer.mjs setup DIR ISSUER_URL | handle DIR')
  process.exit(2)
}
const statePath = path.join(dir, 'issuer-state.json')
const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const sha256 = (data) => crypto.createHash('sha256').update(data).digest()
const random = (n = 32) => b64u(crypto.randomBytes(n))
const now = () => Math.floor(Date.now() / 1000)
const publicJwk = ({ kty, crv, x, y }) => ({ kty, crv, x, y })
const readJson = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'))
const fail = (error, description, status = 400) =>
  new Oauth2ServerErrorResponseError({ error, error_description: description }, { status })
// State tables are keyed by what clients send: no inherited keys ("__proto__" is no code).
const own = (table, key) => (typeof key === 'string' && Object.hasOwn(table, key) ? table[key] : undefined)

// issuer-state.json: {issuer, keys: {credential, access_token} (private JWKs), and tables
// offers (pre-authorized code → tx_code, attempts), requests (PAR), codes (authorization
// codes), c_nonces / dpop_nonces / jtis (value → expiry, seconds), notifications (id → events)}.
let state
const issuerId = () => state.issuer
const endpoint = (name) => `${state.issuer.replace(/\/$/, '')}/${name}`

// ---- callbacks for the libraries (node:crypto only) ----

function signCompact(header, payload, privateJwk) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
  const key = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' })
  return `${input}.${b64u(crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))}`
}

// The libraries sign only access tokens here; a 'custom' signer keeps the key out of the
// header, and the kid is added so that a verifier can pick it from /jwks.
async function signJwt(signer, { header, payload }) {
  if (signer.method !== 'custom' || signer.kid !== ACCESS_TOKEN_KID) throw new Error('no such key')
  const key = state.keys.access_token
  return { jwt: signCompact({ ...header, kid: ACCESS_TOKEN_KID }, payload, key), signerJwk: publicJwk(key) }
}

// A Client Attestation's x5c: leaf first, the anchor (DIR/wallet-provider.pem) not inside; every
// certificate in its validity, each issued and signed by the next, the last by the anchor.
function walletProviderKey(x5c) {
  const anchor = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'wallet-provider.pem')))
  const chain = x5c.map((der) => new crypto.X509Certificate(Buffer.from(der, 'base64')))
  if (chain.length === 0 || chain.some((c) => c.fingerprint256 === anchor.fingerprint256)) {
    throw new Error('x5c is empty or holds the trust anchor')
  }
  const t = Date.now()
  const links = [...chain, anchor]
  links.forEach((cert, i) => {
    if (!(t >= Date.parse(cert.validFrom) && t <= Date.parse(cert.validTo))) throw new Error(`x5c[${i}] outside its validity`)
    const issuer = links[i + 1]
    if (issuer && !(issuer.ca && cert.checkIssued(issuer) && cert.verify(issuer.publicKey))) {
      throw new Error(`x5c[${i}] is not issued by the next certificate (or the anchor)`)
    }
  })
  return chain[0].publicKey
}

// ES256 only. 'jwk' signers are the DPoP, proof and PoP keys and the access-token key from
// /jwks; 'x5c' is the wallet provider's. Errors thrown here reach the log through `cause`.
async function verifyJwt(signer, { header, compact }) {
  if (header.alg !== 'ES256') return { verified: false }
  let key
  if (signer.method === 'jwk') key = crypto.createPublicKey({ key: publicJwk(signer.publicJwk), format: 'jwk' })
  else if (signer.method === 'x5c') key = walletProviderKey(signer.x5c)
  else return { verified: false }
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { verified: false }
  const [h, p, s] = compact.split('.')
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
  return ok ? { verified: true, signerJwk: key.export({ format: 'jwk' }) } : { verified: false }
}

const jwks = () => ({ keys: [{ ...publicJwk(state.keys.access_token), kid: ACCESS_TOKEN_KID, alg: 'ES256', use: 'sig' }] })
const hash = (data, alg) => {
  if (alg !== 'sha-256') throw new Error(`hash ${alg} not supported here`)
  return new Uint8Array(sha256(data))
}
const callbacks = {
  hash, signJwt, verifyJwt,
  generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
  clientAuthentication: () => {},
  // The resource server fetches the jwks_uri to check access tokens: answered in-process.
  fetch: async (url) => url === endpoint('jwks')
    ? new Response(JSON.stringify(jwks()), { headers: { 'Content-Type': 'application/jwk-set+json' } })
    : new Response(null, { status: 404 }),
}
const issuer = new Openid4vciIssuer({ callbacks })
const authorizationServer = new Oauth2AuthorizationServer({ callbacks })
const resourceServer = new Oauth2ResourceServer({ callbacks })
const thumbprint = (jwk) => calculateJwkThumbprint({ jwk, hashAlgorithm: 'sha-256', hashCallback: hash })

// ---- metadata ----

function authorizationServerMetadata() {
  return authorizationServer.createAuthorizationServerMetadata({
    issuer: issuerId(),
    authorization_endpoint: endpoint('authorize'), pushed_authorization_request_endpoint: endpoint('par'),
    token_endpoint: endpoint('token'), jwks_uri: endpoint('jwks'),
    response_types_supported: ['code'],
    grant_types_supported: [authorizationCodeGrantIdentifier, preAuthorizedCodeGrantIdentifier],
    scopes_supported: [SCOPE],
    code_challenge_methods_supported: ['S256'],
    dpop_signing_alg_values_supported: ['ES256'],
    require_pushed_authorization_requests: true,
    authorization_response_iss_parameter_supported: true,
    'pre-authorized_grant_anonymous_access_supported': true,
    token_endpoint_auth_methods_supported: ['attest_jwt_client_auth'],
    client_attestation_pop_nonce_required: false,
  })
}

// The library's resolved form (IssuerMetadataResult), which its offer and request helpers take.
// `credential_metadata` makes it read as 1.0 (not draft 15).
function issuerMetadata() {
  const credentialIssuer = issuer.createCredentialIssuerMetadata({
    credential_issuer: issuerId(),
    credential_endpoint: endpoint('credential'), nonce_endpoint: endpoint('nonce'),
    notification_endpoint: endpoint('notification'),
    batch_credential_issuance: { batch_size: BATCH_SIZE },
    display: [{ name: 'kmid interop peer issuer', locale: 'en' }],
    credential_configurations_supported: {
      [CONFIGURATION_ID]: {
        format: 'dc+sd-jwt', vct: VCT, scope: SCOPE,
        cryptographic_binding_methods_supported: ['jwk'],
        credential_signing_alg_values_supported: ['ES256'],
        proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
        credential_metadata: {
          display: [{ name: 'Peer identity', locale: 'en' }],
          claims: Object.keys(CLAIMS).map((name) => ({ path: [name] })),
        },
      },
    },
  })
  return {
    originalDraftVersion: Openid4vciVersion.V1, credentialIssuer, authorizationServers: [authorizationServerMetadata()],
    knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuer),
  }
}

// ---- state: single use and freshness, which the libraries leave to the caller ----

function save() {
  const tmp = `${statePath}.tmp`
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 })
  fs.renameSync(tmp, statePath)
}

function load() {
  state = JSON.parse(fs.readFileSync(statePath, 'utf8'))
  const t = now()
  for (const table of ['c_nonces', 'dpop_nonces', 'jtis']) {
    for (const [k, until] of Object.entries(state[table])) if (until <= t) delete state[table][k]
  }
  for (const table of ['offers', 'requests', 'codes']) {
    for (const [k, v] of Object.entries(state[table])) if (v.expires_at <= t) delete state[table][k]
  }
}

function mintDpopNonce() {
  const nonce = random(16)
  state.dpop_nonces[nonce] = now() + WINDOW
  return nonce
}

// A jti seen once in the window is refused; it is remembered a little past the window.
function spendJti(kind, jwkThumbprint, jti, error, status) {
  const key = `${kind}:${jwkThumbprint}:${jti}`
  if (typeof jti !== 'string' || !jti || Object.hasOwn(state.jtis, key)) throw fail(error, `${kind} jti missing or replayed`, status)
  state.jtis[key] = now() + WINDOW + AHEAD
}

const fresh = (iat) => typeof iat === 'number' && iat <= now() + AHEAD && iat >= now() - WINDOW

// The library checks a DPoP proof's signature, typ, alg, htm, htu, ath and key binding but not
// its iat, its jti, or a nonce from a set (it takes one expected nonce): done here.
function checkDpopFreshness({ payload, jwkThumbprint }, { wantNonce, status = 400 }) {
  if (wantNonce && !(own(state.dpop_nonces, payload.nonce) > now())) {
    throw fail('use_dpop_nonce', 'use the DPoP-Nonce of this response', status)
  }
  if (!fresh(payload.iat)) throw fail('invalid_dpop_proof', 'DPoP iat is not recent', status)
  spendJti('dpop', jwkThumbprint, payload.jti, 'invalid_dpop_proof', status)
}

// The library checks the attestation (x5c through our callback, exp, typ), its PoP (signed by
// cnf.jwk, aud, iss = sub, exp) and that sub is the request's client_id. Not: that the signer
// was an x5c at all (a header jwk would verify itself), the PoP's iat and jti.
async function checkClientAttestation({ clientAttestation, clientAttestationPop }) {
  if (clientAttestation.signer.method !== 'x5c') throw fail('invalid_client', 'the attestation must be signed with x5c', 401)
  if (!fresh(clientAttestationPop.payload.iat)) throw fail('invalid_client', 'PoP iat is not recent', 401)
  const jkt = await thumbprint(clientAttestation.payload.cnf.jwk)
  spendJti('pop', jkt, clientAttestationPop.payload.jti, 'invalid_client', 401)
  return clientAttestation.payload.sub
}

function formBody(request) {
  if (!/^application\/x-www-form-urlencoded\b/i.test(request.headers.get('content-type') ?? '')) {
    throw fail('invalid_request', 'expected application/x-www-form-urlencoded')
  }
  const form = {}
  for (const [name, value] of new URLSearchParams(request.body)) {
    if (Object.hasOwn(form, name)) throw fail('invalid_request', `${name} appears twice`)
    form[name] = value
  }
  return form
}

function jsonBody(request, error) {
  let body
  try { body = JSON.parse(request.body) } catch { /* refused below */ }
  if (body && typeof body === 'object' && !Array.isArray(body)) return body
  throw fail(error, 'the body is not a JSON object')
}

const json = (status, body, headers = {}) => ({
  status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }, body: JSON.stringify(body),
})

// ---- Authorization Server ----

async function par(request) {
  const form = formBody(request)
  if (form.request !== undefined || form.request_uri !== undefined) throw fail('invalid_request', 'no request objects here')
  const { authorizationRequest, dpop, clientAttestation } =
    await authorizationServer.parsePushedAuthorizationRequest({ authorizationRequest: form, request })
  const verified = await authorizationServer.verifyPushedAuthorizationRequest({
    authorizationRequest, request, authorizationServerMetadata: authorizationServerMetadata(),
    clientAttestation: { ...clientAttestation, required: true },
    dpop: dpop && { ...dpop, allowedSigningAlgs: ['ES256'] },
  })
  await checkClientAttestation(verified.clientAttestation)
  if (dpop?.jwt) {
    // A DPoP proof at PAR only names the key the code will be bound to: no nonce asked.
    const proof = decodeJwt({ jwt: dpop.jwt })
    checkDpopFreshness({ payload: proof.payload, jwkThumbprint: verified.dpop.jwkThumbprint }, { wantNonce: false })
  }
  const client = readJson('wallet-client.json')
  const r = authorizationRequest
  if (r.client_id !== client.client_id) throw fail('invalid_client', 'client_id is not registered', 401)
  if (r.redirect_uri !== client.redirect_uri) throw fail('invalid_request', 'redirect_uri is not the registered one')
  if (r.response_type !== 'code') throw fail('unsupported_response_type', 'response_type must be code')
  if (!r.code_challenge || r.code_challenge_method !== 'S256') throw fail('invalid_request', 'PKCE with S256 is required')
  const scopes = (r.scope ?? '').split(' ').filter(Boolean)
  if (scopes.length === 0 || scopes.some((s) => s !== SCOPE)) throw fail('invalid_scope', `scope must be ${SCOPE}`)
  if (r.resource !== undefined && r.resource !== issuerId()) throw fail('invalid_target', 'resource is not this issuer')
  if (r.authorization_details !== undefined) throw fail('invalid_request', 'ask by scope; authorization_details are not supported')
  // The offer has no authorization_code grant, so no issuer_state was ever handed out.
  if (r.issuer_state !== undefined) throw fail('invalid_request', 'unknown issuer_state')
  const id = random()
  state.requests[id] = {
    client_id: r.client_id, redirect_uri: r.redirect_uri, state: r.state, scope: SCOPE,
    code_challenge: r.code_challenge, dpop_jkt: verified.dpop?.jwkThumbprint, expires_at: now() + 60,
  }
  const { pushedAuthorizationResponse } = authorizationServer.createPushedAuthorizationResponse({
    requestUri: `${pushedAuthorizationRequestUriPrefix}${id}`, expiresInSeconds: 60,
  })
  return json(201, pushedAuthorizationResponse)
}

function authorize(request) {
  const query = new URL(request.url).searchParams
  const id = parsePushedAuthorizationRequestUriReferenceValue({ uri: query.get('request_uri') ?? '' })
  const pushed = own(state.requests, id)
  // Without a live request_uri of this client there is no redirect_uri to trust: no redirect.
  if (!pushed || pushed.client_id !== query.get('client_id')) {
    throw fail('invalid_request', 'request_uri unknown, used, expired, or not of this client_id')
  }
  delete state.requests[id]
  // This test issuer approves at once: the holder is taken as authenticated and as consenting.
  const code = random()
  const { state: clientState, ...grant } = pushed
  state.codes[code] = { ...grant, subject: random(16), expires_at: now() + 60 }
  const location = new URL(pushed.redirect_uri)
  location.searchParams.set('code', code)
  if (clientState !== undefined) location.searchParams.set('state', clientState)
  location.searchParams.set('iss', issuerId()) // RFC 9207
  return { status: 303, headers: { Location: location.toString(), 'Cache-Control': 'no-store' }, body: '' }
}

async function token(request) {
  const form = formBody(request)
  const parsed = authorizationServer.parseAccessTokenRequest({ accessTokenRequest: form, request })
  const { grant, accessTokenRequest } = parsed
  if (accessTokenRequest.resource !== undefined && accessTokenRequest.resource !== issuerId()) {
    throw fail('invalid_target', 'resource is not this issuer')
  }
  const preAuthorized = grant.grantType === preAuthorizedCodeGrantIdentifier
  if (!preAuthorized && grant.grantType !== authorizationCodeGrantIdentifier) throw fail('unsupported_grant_type', grant.grantType)
  const table = preAuthorized ? state.offers : state.codes
  const code = preAuthorized ? grant.preAuthorizedCode : grant.code
  const pending = own(table, code)
  if (!pending) throw fail('invalid_grant', 'unknown, used or expired code')
  if (!parsed.dpop) throw fail('invalid_dpop_proof', 'DPoP is required')
  // The library checks the proof (and the key PAR named); the nonce is asked for before any
  // grant check, so the retry a wallet makes counts no tx_code attempt.
  const dpop = await authorizationServer.verifyDpopJwt({
    dpopJwt: parsed.dpop.jwt, request, allowedSigningAlgs: ['ES256'], expectedJwkThumbprint: pending.dpop_jkt,
  })
  checkDpopFreshness(dpop, { wantNonce: true })
  const common = { grant, accessTokenRequest, request, authorizationServerMetadata: authorizationServerMetadata() }
  let verified
  if (preAuthorized) {
    // Attempts are counted before the comparison and saved even when it fails; three at most.
    if (grant.txCode !== undefined && ++pending.attempts > 3) {
      delete state.offers[code]
      throw fail('invalid_grant', 'too many tx_code attempts; the code is gone')
    }
    verified = await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
      ...common, expectedPreAuthorizedCode: code, expectedTxCode: pending.tx_code,
      preAuthorizedCodeExpiresAt: new Date(pending.expires_at * 1000),
      // Anonymous access; a wallet that authenticates anyway is checked and named in the token.
      clientAttestation: parsed.clientAttestation,
    })
  } else {
    if (accessTokenRequest.redirect_uri !== pending.redirect_uri) throw fail('invalid_grant', 'not the redirect_uri authorized')
    verified = await authorizationServer.verifyAuthorizationCodeAccessTokenRequest({
      ...common, expectedCode: code, codeExpiresAt: new Date(pending.expires_at * 1000),
      pkce: { codeVerifier: parsed.pkceCodeVerifier, codeChallenge: pending.code_challenge, codeChallengeMethod: 'S256' },
      clientAttestation: { ...parsed.clientAttestation, required: true, expectedClientId: pending.client_id },
    })
  }
  const clientId = verified.clientAttestation ? await checkClientAttestation(verified.clientAttestation) : undefined
  delete table[code]
  const response = await authorizationServer.createAccessTokenResponse({
    authorizationServer: issuerId(), audience: issuerId(), expiresInSeconds: 600,
    subject: pending.subject, scope: SCOPE, clientId,
    signer: { method: 'custom', alg: 'ES256', kid: ACCESS_TOKEN_KID },
    dpop: { jwk: dpop.header.jwk },
  })
  return json(200, response)
}

// ---- Credential Issuer ----

function nonce() {
  const cNonce = random()
  state.c_nonces[cNonce] = now() + WINDOW
  return json(200, issuer.createNonceResponse({ cNonce, cNonceExpiresIn: WINDOW }))
}

// The library checks the token (signature from /jwks, aud, exp, DPoP scheme) and its DPoP proof
// (htm, htu, ath, cnf.jkt); freshness and the nonce are ours.
async function authenticate(request) {
  const { tokenPayload } = await resourceServer.verifyResourceRequest({
    request, resourceServer: issuerId(), authorizationServers: [authorizationServerMetadata()],
    allowedAuthenticationSchemes: ['DPoP'],
  })
  const proof = decodeJwt({ jwt: request.headers.get('DPoP') })
  checkDpopFreshness({ payload: proof.payload, jwkThumbprint: tokenPayload.cnf.jkt }, { wantNonce: true, status: 401 })
  return tokenPayload
}

// An SD-JWT VC (dc+sd-jwt) bound to `holderJwk`, every claim selectively disclosable.
function sdJwtVc(holderJwk) {
  const disclosures = Object.entries(CLAIMS).map(([name, value]) => b64u(JSON.stringify([random(16), name, value])))
  const iat = now()
  const payload = {
    iss: issuerId(), vct: VCT, iat, exp: iat + 365 * 24 * 3600, cnf: { jwk: holderJwk },
    _sd_alg: 'sha-256', _sd: disclosures.map((d) => b64u(sha256(d))).sort(),
  }
  const jwt = signCompact({ alg: 'ES256', typ: 'dc+sd-jwt', kid: CREDENTIAL_KID }, payload, state.keys.credential)
  return `${jwt}~${disclosures.map((d) => `${d}~`).join('')}`
}

async function credential(request) {
  const token = await authenticate(request)
  const body = jsonBody(request, 'invalid_credential_request')
  const metadata = issuerMetadata()
  const configurations = metadata.credentialIssuer.credential_configurations_supported
  if (body.credential_configuration_id !== undefined && !own(configurations, body.credential_configuration_id)) {
    throw fail('unknown_credential_configuration', 'no such credential_configuration_id')
  }
  if (body.proof !== undefined) throw fail('invalid_credential_request', 'OpenID4VCI 1.0 has proofs, not proof')
  if (body.credential_response_encryption !== undefined) throw fail('invalid_encryption_parameters', 'no encryption here')
  const { credentialConfigurationId, credentialConfiguration, credentialRequest, proofs } =
    issuer.parseCredentialRequest({ issuerMetadata: metadata, credentialRequest: body })
  if (!credentialConfigurationId) throw fail('invalid_credential_request', 'credential_configuration_id is required')
  if (!token.scope?.split(' ').includes(credentialConfiguration.scope)) throw fail('invalid_credential_request', 'not in the token\'s scope')
  const jwts = proofs?.jwt
  if (!jwts?.length) throw fail('invalid_proof', 'proofs.jwt is required')
  if (jwts.length > BATCH_SIZE) throw fail('invalid_credential_request', `at most ${BATCH_SIZE} proofs`)
  const keys = []
  const spent = new Set()
  for (const jwt of jwts) {
    // Nonces are a set of our own, the library compares with one: it is given the proof's own
    // once that is known to be live. iss is OPTIONAL (Appendix F.1) but the library, given a
    // client_id, requires it: it gets the client_id only when iss is there to compare.
    let claimed
    try { claimed = decodeJwt({ jwt }).payload } catch { throw fail('invalid_proof', 'a proof is not a JWT') }
    if (typeof claimed.nonce !== 'string') throw fail('invalid_proof', 'a proof has no nonce')
    if (!(own(state.c_nonces, claimed.nonce) > now())) throw fail('invalid_nonce', 'c_nonce unknown, spent or expired')
    if (!token.client_id && claimed.iss !== undefined) throw fail('invalid_proof', 'no iss under anonymous access')
    const { header, payload, signer } = await issuer.verifyCredentialRequestJwtProof({
      issuerMetadata: metadata, jwt, expectedNonce: claimed.nonce,
      clientId: claimed.iss === undefined ? undefined : token.client_id,
      nonceExpiresAt: new Date(state.c_nonces[claimed.nonce] * 1000),
    })
    if (signer.method !== 'jwk' || header.jwk.d !== undefined) throw fail('invalid_proof', 'the key must be a public header jwk')
    if (!fresh(payload.iat)) throw fail('invalid_proof', 'proof iat is not recent')
    spent.add(claimed.nonce)
    keys.push(publicJwk(header.jwk))
  }
  for (const n of spent) delete state.c_nonces[n]
  const credentials = keys.map((jwk) => ({ credential: sdJwtVc(jwk) }))
  const notificationId = random(16)
  state.notifications[notificationId] = {
    subject: token.sub, configuration_id: credentialConfigurationId, count: keys.length, issued_at: now(), events: [],
  }
  return json(200, issuer.createCredentialResponse({ credentialRequest, credentials, notificationId }))
}

// The library has no server-side parser for notifications: checked here (§11).
async function notification(request) {
  const token = await authenticate(request)
  const { notification_id: id, event, event_description } = jsonBody(request, 'invalid_notification_request')
  if (typeof id !== 'string' || !['credential_accepted', 'credential_failure', 'credential_deleted'].includes(event)) {
    throw fail('invalid_notification_request', 'notification_id and a known event are required')
  }
  const record = own(state.notifications, id)
  if (!record || record.subject !== token.sub) throw fail('invalid_notification_id', 'unknown notification_id')
  record.events.push({ event, event_description, at: now() })
  return { status: 204, headers: {}, body: '' }
}

// ---- routing ----

function routes() {
  const { origin, pathname } = new URL(issuerId())
  const suffix = pathname.replace(/\/$/, '')
  const wellKnown = (name, handler) => Object.fromEntries(
    [`${origin}/.well-known/${name}${suffix}`, endpoint(`.well-known/${name}`)].map((u) => [`GET ${u}`, { handler }]))
  return {
    ...wellKnown('openid-credential-issuer', () => json(200, issuerMetadata().credentialIssuer)),
    ...wellKnown('oauth-authorization-server', () => json(200, authorizationServerMetadata())),
    [`GET ${endpoint('jwks')}`]: { handler: () => json(200, jwks(), { 'Content-Type': 'application/jwk-set+json' }) },
    [`POST ${endpoint('par')}`]: { handler: par, dpop: true },
    [`GET ${endpoint('authorize')}`]: { handler: authorize },
    [`POST ${endpoint('token')}`]: { handler: token, dpop: true },
    [`POST ${endpoint('nonce')}`]: { handler: nonce },
    [`POST ${endpoint('credential')}`]: { handler: credential, dpop: true, resource: true },
    [`POST ${endpoint('notification')}`]: { handler: notification, dpop: true, resource: true },
  }
}

function errorResponse(error, route) {
  // One line per error and cause on stderr (the library's messages append the JSON response).
  for (let e = error; e; e = e.cause) console.error(`vci_issuer_peer: ${String(e?.message ?? e).split('\n')[0]}`)
  if (error instanceof Oauth2ResourceUnauthorizedError) {
    const challenge = error.wwwAuthenticateHeaders[0] ?? {}
    error = fail(challenge.error ?? 'invalid_token', challenge.error_description ?? 'no valid DPoP access token', 401)
  }
  if (!(error instanceof Oauth2ServerErrorResponseError)) error = fail('server_error', 'internal error', 500)
  // Written by hand: the library's toHeaderValue() renders absent parameters as bare names.
  const resource = route?.resource && error.status === 401
  return json(error.status, error.errorResponse,
    resource ? { 'WWW-Authenticate': `DPoP error="${error.errorResponse.error}", algs="ES256"` } : {})
}

async function serve(input) {
  const request = { method: input.method, url: input.url, headers: new Headers(input.headers ?? {}), body: input.body ?? '' }
  let route
  let response
  try {
    const { origin, pathname } = new URL(request.url)
    route = own(routes(), `${request.method} ${origin}${pathname}`)
    if (!route) return json(404, { error: 'not_found', error_description: `no ${request.method} ${pathname} here` })
    response = await route.handler(request)
  } catch (error) {
    response = errorResponse(error, route)
  }
  // A fresh nonce on every answer of a DPoP endpoint, errors included (RFC 9449 §8, §9).
  return route?.dpop ? { ...response, headers: { ...response.headers, 'DPoP-Nonce': mintDpopNonce() } } : response
}

// ---- verbs ----

function newKey(kid) {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256' }
}

async function setup() {
  state = {
    issuer: issuerArgument,
    keys: { credential: newKey(CREDENTIAL_KID), access_token: newKey(ACCESS_TOKEN_KID) }, // private JWKs
    offers: {}, requests: {}, codes: {}, c_nonces: {}, dpop_nonces: {}, jtis: {}, notifications: {},
  }
  const txCode = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0')
  const { credentialOffer, credentialOfferObject } = await issuer.createCredentialOffer({
    issuerMetadata: issuerMetadata(),
    credentialConfigurationIds: [CONFIGURATION_ID],
    grants: { [preAuthorizedCodeGrantIdentifier]: { tx_code: { input_mode: 'numeric', length: 6, description: 'The code shown' } } },
  })
  const code = credentialOfferObject.grants[preAuthorizedCodeGrantIdentifier]['pre-authorized_code']
  state.offers[code] = {
    tx_code: txCode, configuration_ids: [CONFIGURATION_ID], subject: random(16), attempts: 0, expires_at: now() + 3600,
  }
  fs.mkdirSync(dir, { recursive: true })
  save()
  const signing = { ...publicJwk(state.keys.credential), kid: CREDENTIAL_KID, alg: 'ES256' }
  fs.writeFileSync(path.join(dir, 'peer-issuer.jwk'), JSON.stringify(signing))
  console.log(JSON.stringify({ offer: credentialOffer, tx_code: txCode }))
}

async function handle() {
  const input = JSON.parse(fs.readFileSync(0, 'utf8'))
  load()
  const response = await serve(input)
  save() // also after errors: tx_code attempts, spent jtis
  process.stdout.write(JSON.stringify(response))
}

await { setup, handle }[verb]()
