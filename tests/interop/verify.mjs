// Verifies credentials with Digital Bazaar's reference implementation of eddsa-rdfc-2022.
// Input (stdin, JSON): {"documents": [...], "documentsByUrl": {url: document}} — every context,
// DID document and verification method the verifier may load; nothing is fetched from the network.
// Output (stdout, JSON): [{"verified": bool, "error": string|null}, ...] in input order.
// With "rounds": N in the input (bench/verification_speed.py), the documents are then verified N more
// times and the output is {"results": [...], "seconds": wall time of those N rounds}.
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import didContext from 'did-context';
import multikeyContext from '@digitalbazaar/multikey-context';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const {documents, documentsByUrl, rounds = 0} = JSON.parse(Buffer.concat(chunks).toString('utf8'));

// The DID and Multikey contexts come from their npm packages (pinned in package.json).
const bundled = new Map([...didContext.contexts, ...multikeyContext.contexts]);

const documentLoader = async url => {
  if(bundled.has(url)) return {contextUrl: null, documentUrl: url, document: bundled.get(url)};
  const document = documentsByUrl[url] ?? documentsByUrl[url.split('#')[0]];
  if(!document) throw new Error(`document not available offline: ${url}`);
  if(url.includes('#') && documentsByUrl[url.split('#')[0]] && !documentsByUrl[url]) {
    // A fragment of a DID document: return that verification method with the DID context.
    const vm = (document.verificationMethod || []).find(m => m.id === url);
    if(!vm) throw new Error(`no verification method ${url}`);
    return {contextUrl: null, documentUrl: url, document: {'@context': document['@context'], ...vm}};
  }
  return {contextUrl: null, documentUrl: url, document};
};

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
const verifyAll = async () => {
  const results = [];
  for(const credential of documents) {
    try {
      const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus: async () => ({verified: true})});
      const errors = [result.error, ...(result.results || []).map(r => r.error)].filter(Boolean);
      results.push({verified: result.verified, error: errors.length ? String(errors[0].message || errors[0]) : null});
    } catch(e) {
      results.push({verified: false, error: String(e.message || e)});
    }
  }
  return results;
};
const results = await verifyAll();  // also warms every cache the timed rounds use
if(rounds > 0) {
  const start = process.hrtime.bigint();
  for(let round = 0; round < rounds; round++) await verifyAll();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({results, seconds}));
} else {
  process.stdout.write(JSON.stringify(results));
}
