// @openid4vc/openid4vci and @openid4vc/oauth2 0.4.6 (OpenWallet Foundation) as a wallet
// receiving credentials from kmid's OpenID4VCI issuer.
//
//   node vci_peer.mjs receive DIR     DIR/offer.txt (the offer URL), DIR/tx_code.txt; the
//                                     issuer is reached through `kmid issuer handle` (the
//                                     command in DIR/bridge.json: {"program", "args", "cwd"}),
//                                     one HTTP request per call, until `kmid serve`.
//                                     Prints {"credentials": {configuration: [...]}, ...} and
//                                     writes DIR/peer-holder.jwk (the key they are bound to).
//   node vci_peer.mjs authorize DIR   the authorization code grant for the authorization code
//                                     offer in DIR/offer.txt: PAR authenticated by the wallet
//                                     attestation in DIR/attestation.jwt (its instance key in
//                                     DIR/instance.pem, PKCS#8), PKCE, DPoP; the authorization
//                                     URL is followed through the bridge (the counter approves
//                                     it) to DIR/redirect_uri.txt, whose `iss` is checked; then
//                                     as `receive`.
//
// Without DIR/bridge.json the issuer is the live one (`kmid serve`): the library's fetch is
// Node's (its CA in NODE_EXTRA_CA_CERTS), redirects not followed (the authorization
// response's is the wallet's to read).
//
// The library needs callbacks; they are written here with node:crypto alone (ES256, SHA-256,
// random). Driven by crates/kmid-cli/tests/interop_openid4vci.rs.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { clientAuthenticationAnonymous, clientAuthenticationClientAttestationJwt, decodeJwt } from '@openid4vc/oauth2'

const [verb, dir] = process.argv.slice(2)
const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8').trim()
const b64u = (bytes) => Buffer.from(bytes).toString('base64url')

// fetch through the bridge: the request as JSON on stdin, the response as JSON on stdout.
const live = !fs.existsSync(path.join(dir, 'bridge.json'))
const bridge = live ? null : JSON.parse(read('bridge.json'))
const liveFetch = (input, init = {}) => fetch(input, { ...init, redirect: 'manual' })
async function bridgedFetch(input, init = {}) {
  if (live) return liveFetch(input, init)
  const url = typeof input === 'string' ? input : input.url
  const headers = {}
  new Headers(init.headers ?? {}).forEach((value, name) => { headers[name] = value })
  const body = init.body === undefined || init.body === null ? '' : init.body.toString()
  const out = execFileSync(bridge.program, bridge.args, {
    cwd: bridge.cwd,
    input: JSON.stringify({ method: init.method ?? 'GET', url, headers, body }),
  })
  const response = JSON.parse(out.toString('utf8'))
  const status = response.status
  return new Response(status === 204 ? null : response.body, { status, headers: response.headers })
}

const hash = (data, alg) => {
  if (alg !== 'sha-256') throw new Error(`hash ${alg} not supported here`)
  return new Uint8Array(crypto.createHash('sha256').update(data).digest())
}

function keyPair() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateKey, publicJwk: publicKey.export({ format: 'jwk' }) }
}

// Signs with the private key whose public JWK the signer names (by its coordinates: a JWK
// read back from an attestation's cnf has its members in another order).
const keys = new Map()
const coordinates = (jwk) => `${jwk.crv}.${jwk.x}.${jwk.y}`
function remember(pair) { keys.set(coordinates(pair.publicJwk), pair.privateKey); return pair }
async function signJwt(signer, { header, payload }) {
  const key = signer.publicJwk && keys.get(coordinates(signer.publicJwk))
  if (!key) throw new Error('no such key')
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
  const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
  return { jwt: `${input}.${b64u(signature)}`, signerJwk: signer.publicJwk }
}

const random = (n) => new Uint8Array(crypto.randomBytes(n))

// Requests every offered configuration with a fresh nonce and a proof by the holder's key,
// notifies each, and prints what was received.
async function credentialsFor(client, { credentialOffer, issuerMetadata, accessTokenResponse, dpop, dpopSigner, holder }) {
  const credentials = {}
  let dpopNonce = dpop?.nonce
  for (const credentialConfigurationId of credentialOffer.credential_configuration_ids) {
    const { c_nonce } = await client.requestNonce({ issuerMetadata })
    const proof = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk },
      nonce: c_nonce,
    })
    const response = await client.retrieveCredentials({
      issuerMetadata,
      credentialConfigurationId,
      proofs: { jwt: [proof.jwt] },
      accessToken: accessTokenResponse.access_token,
      dpop: { signer: dpopSigner, nonce: dpopNonce },
    })
    dpopNonce = response.dpop?.nonce ?? dpopNonce
    const body = response.credentialResponse
    credentials[credentialConfigurationId] = body.credentials.map((c) => c.credential)
    const notified = await client.sendNotification({
      issuerMetadata,
      notification: { notificationId: body.notification_id, event: 'credential_accepted' },
      accessToken: accessTokenResponse.access_token,
      dpop: { signer: dpopSigner, nonce: dpopNonce },
    })
    dpopNonce = notified.dpop?.nonce ?? dpopNonce
  }
  fs.writeFileSync(path.join(dir, 'peer-holder.jwk'), JSON.stringify(holder.privateKey.export({ format: 'jwk' })))
  console.log(JSON.stringify({
    credential_issuer: credentialOffer.credential_issuer,
    token_type: accessTokenResponse.token_type,
    credentials,
  }))
}

async function receive() {
  const client = new Openid4vciClient({
    callbacks: { fetch: bridgedFetch, hash, signJwt, generateRandom: random, clientAuthentication: clientAuthenticationAnonymous() },
  })
  const credentialOffer = await client.resolveCredentialOffer(read('offer.txt'))
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const dpopKey = remember(keyPair())
  const holder = remember(keyPair())
  const dpopSigner = { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk }
  const { accessTokenResponse, dpop } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: read('tx_code.txt'),
    dpop: { signer: dpopSigner },
  })
  await credentialsFor(client, { credentialOffer, issuerMetadata, accessTokenResponse, dpop, dpopSigner, holder })
}

async function authorize() {
  const clientAttestationJwt = read('attestation.jwt')
  const clientId = decodeJwt({ jwt: clientAttestationJwt }).payload.sub
  const instanceKey = crypto.createPrivateKey(read('instance.pem'))
  remember({ privateKey: instanceKey, publicJwk: crypto.createPublicKey(instanceKey).export({ format: 'jwk' }) })
  const client = new Openid4vciClient({
    callbacks: {
      fetch: bridgedFetch,
      hash,
      signJwt,
      generateRandom: random,
      clientAuthentication: clientAuthenticationClientAttestationJwt({
        clientAttestationJwt,
        callbacks: { signJwt, generateRandom: random },
      }),
    },
  })
  const credentialOffer = await client.resolveCredentialOffer(read('offer.txt'))
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const supported = issuerMetadata.credentialIssuer.credential_configurations_supported
  const scope = credentialOffer.credential_configuration_ids.map((id) => supported[id].scope).join(' ')
  const dpopKey = remember(keyPair())
  const holder = remember(keyPair())
  const dpopSigner = { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk }
  const redirectUri = read('redirect_uri.txt')
  const started = await client.initiateAuthorization({
    credentialOffer,
    issuerMetadata,
    clientId,
    redirectUri,
    scope,
    dpop: { signer: dpopSigner },
  })
  if (started.authorizationFlow !== 'Oauth2Redirect') throw new Error(`unexpected flow ${started.authorizationFlow}`)
  // The holder's user agent at the authorization endpoint: the counter has authenticated
  // them and the issuer redirects back to the wallet.
  const page = await bridgedFetch(started.authorizationRequestUrl, { method: 'GET' })
  const location = page.headers.get('location')
  if (page.status !== 303 || !location) throw new Error(`authorization: ${page.status} ${await page.text()}`)
  const authorizationServerMetadata = issuerMetadata.authorizationServers[0]
  const response = client.parseAndVerifyAuthorizationResponseRedirectUrl({ url: location, authorizationServerMetadata })
  if (!response.code) throw new Error(`authorization refused: ${JSON.stringify(response)}`)
  const { accessTokenResponse, dpop } = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    authorizationCode: response.code,
    pkceCodeVerifier: started.pkce?.codeVerifier,
    redirectUri,
    dpop: { signer: dpopSigner },
  })
  await credentialsFor(client, { credentialOffer, issuerMetadata, accessTokenResponse, dpop, dpopSigner, holder })
}

const verbs = { receive, authorize }
await verbs[verb]()
