// @openid4vc/openid4vp 0.4.6 (OpenWallet Foundation) as kmid's OpenID4VP peer, both ways.
//
//   node oid4vp_peer.mjs resolve DIR        verify kmid's signed request DIR/request.txt as a
//                                           wallet (JAR signature, x5c leaf under
//                                           DIR/verifier-root.pem, x509_hash) and print it
//   node oid4vp_peer.mjs read-kmid DIR      decrypt and validate the response DIR/answer.txt
//                                           (kmid wallet) with kmid's transaction DIR/tx.json
//   node oid4vp_peer.mjs create DIR         as a verifier, sign a direct_post.jwt request
//                                           (x509_hash, DIR/reader.pem, DIR/reader.key.pem)
//                                           for DIR/dcql.json; write DIR/their-request.txt and
//                                           DIR/their-state.json (its response key: test only)
//   node oid4vp_peer.mjs read-answer DIR    decrypt and validate kmid's answer
//                                           DIR/their-answer.txt to that request; print it
//
// The same over the Digital Credentials API (OpenID4VP Appendix A), the page's Origin in
// DIR/origin.txt:
//   resolve-dc DIR       resolve kmid's DC API request DIR/request.json ({protocol, data}) as a
//                        wallet at that Origin (expected_origins, JAR signature, x509_hash)
//   read-kmid-dc DIR     decrypt and validate the kmid wallet's DC API response data
//                        DIR/answer.json with kmid's saved request DIR/tx.json
//   create-dc DIR        as a verifier, sign a dc_api.jwt request (openid4vp-v1-signed) for
//                        DIR/dcql.json; write DIR/their-request.json and DIR/their-state.json
//   read-answer-dc DIR   decrypt and validate kmid's DC API answer DIR/their-answer.json
//
// Against kmid's live verifier (`kmid serve`; its CA in NODE_EXTRA_CA_CERTS):
//   resolve-live DIR     their wallet fetches the request DIR/request_url.txt names (its
//                        request_uri, by the URL's method), verifies it under
//                        DIR/verifier-root.pem and writes DIR/resolved.json (the request)
//   submit-live DIR      encrypts the VP Token DIR/vp.json to the request's key and POSTs it
//                        to its response_uri; prints the verifier's answer
//
// The library needs crypto callbacks; they are written here with node:crypto alone (ES256,
// ECDH-ES with A128GCM/A256GCM and the Concat KDF, SHA-256, X.509). Driven by
// crates/kmid-cli/tests/interop_openid4vp.rs.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {
  Openid4vpClient,
  Openid4vpVerifier,
  calculateX509HashClientIdPrefixValue,
  parseOpenid4vpAuthorizationRequest,
  parseOpenid4vpAuthorizationResponse,
} from '@openid4vc/openid4vp'

const [verb, dir] = process.argv.slice(2)
const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8').trim()
const b64u = (bytes) => Buffer.from(bytes).toString('base64url')
const fromB64u = (text) => Buffer.from(text, 'base64url')

const hash = (data, alg) => {
  if (alg !== 'sha-256') throw new Error(`hash ${alg} not supported here`)
  return new Uint8Array(crypto.createHash('sha256').update(data).digest())
}

// The verifier anchors the wallet side trusts (for resolve).
const anchor = () => new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'verifier-root.pem')))

async function verifyJwt(signer, jwt) {
  let key
  if (signer.method === 'x5c') {
    const leaf = new crypto.X509Certificate(Buffer.from(signer.x5c[0], 'base64'))
    // The chain: the leaf must be issued by the configured anchor, not self-signed.
    const root = anchor()
    if (!leaf.checkIssued(root) || !leaf.verify(root.publicKey)) return { verified: false }
    key = leaf.publicKey
  } else if (signer.method === 'jwk') {
    key = crypto.createPublicKey({ key: signer.publicJwk, format: 'jwk' })
  } else {
    return { verified: false }
  }
  const [h, p, s] = jwt.compact.split('.')
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, fromB64u(s))
  return ok ? { verified: true, signerJwk: key.export({ format: 'jwk' }) } : { verified: false }
}

function concatKdf(z, enc, apu, apv) {
  const bits = enc === 'A128GCM' ? 128 : 256
  const len = (b) => { const out = Buffer.alloc(4); out.writeUInt32BE(b.length); return out }
  const algId = Buffer.from(enc)
  const suppPub = Buffer.alloc(4); suppPub.writeUInt32BE(bits)
  const input = Buffer.concat([Buffer.from([0, 0, 0, 1]), z, len(algId), algId, len(apu), apu, len(apv), apv, suppPub])
  return crypto.createHash('sha256').update(input).digest().subarray(0, bits / 8)
}

function decryptWith(privateJwk) {
  return async (jwe) => {
    const [protectedB64, encryptedKey, iv, ciphertext, tag] = jwe.split('.')
    const header = JSON.parse(fromB64u(protectedB64).toString('utf8'))
    if (header.alg !== 'ECDH-ES' || encryptedKey !== '') return { decrypted: false }
    const priv = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' })
    const epk = crypto.createPublicKey({ key: header.epk, format: 'jwk' })
    const z = crypto.diffieHellman({ privateKey: priv, publicKey: epk })
    const key = concatKdf(z, header.enc, header.apu ? fromB64u(header.apu) : Buffer.alloc(0), header.apv ? fromB64u(header.apv) : Buffer.alloc(0))
    const decipher = crypto.createDecipheriv(header.enc === 'A128GCM' ? 'aes-128-gcm' : 'aes-256-gcm', key, fromB64u(iv))
    decipher.setAAD(Buffer.from(protectedB64, 'ascii'))
    decipher.setAuthTag(fromB64u(tag))
    const payload = Buffer.concat([decipher.update(fromB64u(ciphertext)), decipher.final()]).toString('utf8')
    const { d, ...pub } = privateJwk
    return { decrypted: true, decryptionJwk: pub, payload }
  }
}

function signWith(privateKeyPem) {
  return async (signer, { header, payload }) => {
    const key = crypto.createPrivateKey(privateKeyPem)
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`
    const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    return { jwt: `${input}.${b64u(signature)}`, signerJwk: crypto.createPublicKey(key).export({ format: 'jwk' }) }
  }
}

const notUsed = () => { throw new Error('not used by this peer') }
const x509Metadata = (certificate) => {
  const san = new crypto.X509Certificate(Buffer.from(certificate, 'base64')).subjectAltName ?? ''
  const names = san.split(', ')
  return {
    sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)),
  }
}

async function resolve() {
  const client = new Openid4vpClient({
    callbacks: { hash, verifyJwt, decryptJwe: notUsed, getX509CertificateMetadata: x509Metadata, fetch: notUsed },
  })
  const parsed = parseOpenid4vpAuthorizationRequest({ authorizationRequest: read('request.txt') })
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
  const payload = resolved.authorizationRequestPayload
  console.log(JSON.stringify({
    client_id: payload.client_id,
    prefix: resolved.client.prefix,
    response_mode: payload.response_mode,
    nonce: payload.nonce,
    dcql: resolved.dcql?.query,
    signed: resolved.jar !== undefined,
  }))
}

async function readKmid() {
  const tx = JSON.parse(read('tx.json'))
  const body = new URLSearchParams(read('answer.txt'))
  const response = await parseOpenid4vpAuthorizationResponse({
    authorizationResponse: Object.fromEntries(body.entries()),
    authorizationRequestPayload: tx.authorization,
    callbacks: { decryptJwe: decryptWith(tx.transaction.key), verifyJwt },
  })
  console.log(JSON.stringify({
    state: response.authorizationResponsePayload.state,
    vp_token: response.authorizationResponsePayload.vp_token,
    nonce: response.expectedNonce,
  }))
}

async function create() {
  const leafPem = fs.readFileSync(path.join(dir, 'reader.pem'), 'utf8')
  const leafDer = new crypto.X509Certificate(leafPem).raw
  const clientId = `x509_hash:${await calculateX509HashClientIdPrefixValue({ x509Certificate: new Uint8Array(leafDer), hash })}`
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const encJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'their-key-1', use: 'enc', alg: 'ECDH-ES' }
  const verifier = new Openid4vpVerifier({
    callbacks: { signJwt: signWith(fs.readFileSync(path.join(dir, 'reader.key.pem'), 'utf8')), encryptJwe: notUsed, decryptJwe: notUsed, verifyJwt, hash },
  })
  const authorizationRequestPayload = {
    response_type: 'vp_token',
    client_id: clientId,
    response_mode: 'direct_post.jwt',
    response_uri: 'https://peer.kmid.invalid/openid4vp/response',
    nonce: b64u(crypto.randomBytes(16)),
    state: b64u(crypto.randomBytes(16)),
    dcql_query: JSON.parse(read('dcql.json')),
    client_metadata: {
      jwks: { keys: [encJwk] },
      encrypted_response_enc_values_supported: ['A128GCM', 'A256GCM'],
      vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
    },
  }
  const result = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload,
    jar: {
      jwtSigner: { method: 'x5c', x5c: [Buffer.from(leafDer).toString('base64')], alg: 'ES256' },
      expiresInSeconds: 300,
      additionalJwtPayload: { aud: 'https://self-issued.me/v2' },
    },
  })
  fs.writeFileSync(path.join(dir, 'their-request.txt'), `${result.authorizationRequest}\n`)
  fs.writeFileSync(path.join(dir, 'their-state.json'), JSON.stringify({
    key: { ...privateKey.export({ format: 'jwk' }), kid: 'their-key-1' },
    payload: result.authorizationRequestPayload,
  }))
  console.log(JSON.stringify({ client_id: clientId }))
}

async function readAnswer() {
  const state = JSON.parse(read('their-state.json'))
  const body = new URLSearchParams(read('their-answer.txt'))
  const response = await parseOpenid4vpAuthorizationResponse({
    authorizationResponse: Object.fromEntries(body.entries()),
    authorizationRequestPayload: state.payload,
    callbacks: { decryptJwe: decryptWith(state.key), verifyJwt },
  })
  console.log(JSON.stringify({
    state_matches: response.authorizationResponsePayload.state === state.payload.state,
    vp_token: response.authorizationResponsePayload.vp_token,
    client_id: state.payload.client_id,
    nonce: state.payload.nonce,
    response_uri: state.payload.response_uri,
  }))
}

// --- Digital Credentials API ---

const origin = () => read('origin.txt')

async function resolveDc() {
  const client = new Openid4vpClient({
    callbacks: { hash, verifyJwt, decryptJwe: notUsed, getX509CertificateMetadata: x509Metadata, fetch: notUsed },
  })
  const request = JSON.parse(read('request.json'))
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: request.data,
    origin: origin(),
  })
  const payload = resolved.authorizationRequestPayload
  console.log(JSON.stringify({
    protocol: request.protocol,
    client_id: payload.client_id,
    prefix: resolved.client.prefix,
    response_mode: payload.response_mode,
    expected_origins: payload.expected_origins,
    nonce: payload.nonce,
    dcql: resolved.dcql?.query,
    signed: resolved.jar !== undefined,
  }))
}

async function readKmidDc() {
  const tx = JSON.parse(read('tx.json'))
  const response = await parseOpenid4vpAuthorizationResponse({
    authorizationResponse: JSON.parse(read('answer.json')),
    authorizationRequestPayload: tx.authorization,
    origin: tx.origin,
    callbacks: { decryptJwe: decryptWith(tx.transaction.key), verifyJwt },
  })
  console.log(JSON.stringify({
    encrypted: response.jarm !== undefined,
    vp_token: response.authorizationResponsePayload.vp_token,
    nonce: response.expectedNonce,
  }))
}

async function createDc() {
  const leafPem = fs.readFileSync(path.join(dir, 'reader.pem'), 'utf8')
  const leafDer = new crypto.X509Certificate(leafPem).raw
  const clientId = `x509_hash:${await calculateX509HashClientIdPrefixValue({ x509Certificate: new Uint8Array(leafDer), hash })}`
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const encJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'their-dc-key', use: 'enc', alg: 'ECDH-ES' }
  const verifier = new Openid4vpVerifier({
    callbacks: { signJwt: signWith(fs.readFileSync(path.join(dir, 'reader.key.pem'), 'utf8')), encryptJwe: notUsed, decryptJwe: notUsed, verifyJwt, hash },
  })
  const authorizationRequestPayload = {
    response_type: 'vp_token',
    client_id: clientId,
    response_mode: 'dc_api.jwt',
    expected_origins: [origin()],
    nonce: b64u(crypto.randomBytes(16)),
    dcql_query: JSON.parse(read('dcql.json')),
    client_metadata: {
      jwks: { keys: [encJwk] },
      encrypted_response_enc_values_supported: ['A128GCM', 'A256GCM'],
      vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } },
    },
  }
  const result = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload,
    jar: {
      jwtSigner: { method: 'x5c', x5c: [Buffer.from(leafDer).toString('base64')], alg: 'ES256' },
      expiresInSeconds: 300,
    },
  })
  const data = result.authorizationRequestObject
  fs.writeFileSync(path.join(dir, 'their-request.json'), JSON.stringify({ protocol: 'openid4vp-v1-signed', data }))
  fs.writeFileSync(path.join(dir, 'their-state.json'), JSON.stringify({
    key: { ...privateKey.export({ format: 'jwk' }), kid: 'their-dc-key' },
    payload: result.authorizationRequestPayload,
  }))
  console.log(JSON.stringify({ client_id: clientId, data_keys: Object.keys(data) }))
}

async function readAnswerDc() {
  const state = JSON.parse(read('their-state.json'))
  const response = await parseOpenid4vpAuthorizationResponse({
    authorizationResponse: JSON.parse(read('their-answer.json')),
    authorizationRequestPayload: state.payload,
    origin: origin(),
    callbacks: { decryptJwe: decryptWith(state.key), verifyJwt },
  })
  console.log(JSON.stringify({
    encrypted: response.jarm !== undefined,
    vp_token: response.authorizationResponsePayload.vp_token,
    client_id: state.payload.client_id,
    nonce: state.payload.nonce,
  }))
}

// ECDH-ES (direct key agreement) with A128GCM/A256GCM to the verifier's key: the JWE their
// library asks for when it makes a direct_post.jwt response.
async function encryptJwe(encryptor, data) {
  const recipient = crypto.createPublicKey({ key: encryptor.publicJwk, format: 'jwk' })
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const epk = publicKey.export({ format: 'jwk' })
  const header = { alg: 'ECDH-ES', enc: encryptor.enc, epk: { kty: epk.kty, crv: epk.crv, x: epk.x, y: epk.y } }
  if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid
  if (encryptor.apu) header.apu = encryptor.apu
  if (encryptor.apv) header.apv = encryptor.apv
  const z = crypto.diffieHellman({ privateKey, publicKey: recipient })
  const key = concatKdf(z, encryptor.enc, encryptor.apu ? fromB64u(encryptor.apu) : Buffer.alloc(0), encryptor.apv ? fromB64u(encryptor.apv) : Buffer.alloc(0))
  const protectedB64 = b64u(JSON.stringify(header))
  const iv = crypto.randomBytes(12)
  const cipher = crypto.createCipheriv(encryptor.enc === 'A128GCM' ? 'aes-128-gcm' : 'aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(protectedB64, 'ascii'))
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(data, 'utf8')), cipher.final()])
  return { encryptionJwk: encryptor.publicJwk, jwe: `${protectedB64}..${b64u(iv)}.${b64u(ciphertext)}.${b64u(cipher.getAuthTag())}` }
}

const liveClient = () => new Openid4vpClient({
  callbacks: { hash, verifyJwt, encryptJwe, decryptJwe: notUsed, signJwt: notUsed, getX509CertificateMetadata: x509Metadata, fetch },
})

async function resolveLive() {
  const client = liveClient()
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: read('request_url.txt') })
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
  fs.writeFileSync(path.join(dir, 'resolved.json'), JSON.stringify(resolved.authorizationRequestPayload))
  console.log(JSON.stringify({
    client_id: resolved.authorizationRequestPayload.client_id,
    prefix: resolved.client.prefix,
    response_mode: resolved.authorizationRequestPayload.response_mode,
    signed: resolved.jar !== undefined,
    dcql: resolved.dcql?.query,
  }))
}

async function submitLive() {
  const client = liveClient()
  const request = JSON.parse(read('resolved.json'))
  const vpToken = JSON.parse(read('vp.json'))
  const created = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: vpToken },
    jarm: request.response_mode === 'direct_post.jwt'
      ? {
          encryption: { nonce: request.nonce },
          serverMetadata: {
            authorization_signing_alg_values_supported: [],
            authorization_encryption_alg_values_supported: ['ECDH-ES'],
            authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
          },
        }
      : undefined,
  })
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { ...created.authorizationResponsePayload, state: request.state },
    jarm: created.jarm ? { responseJwt: created.jarm.responseJwt } : undefined,
  })
  console.log(JSON.stringify({
    response_mode: submitted.responseMode,
    status: submitted.response.status,
    body: await submitted.response.text(),
  }))
}

const verbs = {
  'resolve-live': resolveLive,
  'submit-live': submitLive,
  resolve,
  'read-kmid': readKmid,
  create,
  'read-answer': readAnswer,
  'resolve-dc': resolveDc,
  'read-kmid-dc': readKmidDc,
  'create-dc': createDc,
  'read-answer-dc': readAnswerDc,
}
await verbs[verb]()
