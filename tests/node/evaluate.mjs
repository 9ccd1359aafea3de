// Evaluate one chaincode function with the official Node Fabric Gateway client, connected as
// ORG's USER through ORG's own peer, as `fedfabric network profile` describes them.
// Usage: node evaluate.mjs PROFILE.json ORG USER FUNCTION [ARG...]   (prints the result)
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, signers } from '@hyperledger/fabric-gateway';
import { createPrivateKey } from 'node:crypto';

const [profileFile, orgName, user, fn, ...args] = process.argv.slice(2);
if (!fn) {
  console.error('usage: node evaluate.mjs PROFILE.json ORG USER FUNCTION [ARG...]');
  process.exit(2);
}
const profile = JSON.parse(await readFile(profileFile, 'utf8'));
const org = Object.values(profile.organizations)
  .find((o) => [o.name.toLowerCase(), o.msp_id.toLowerCase()].includes(orgName.toLowerCase()));
if (!org) throw new Error(`no organisation ${orgName} in ${profileFile}`);
const msp = org.users[user];
if (!msp) throw new Error(`${org.name} has no user ${user}`);

async function only(dir) {
  const files = (await readdir(dir)).filter((f) => !f.startsWith('.'));
  if (files.length !== 1) throw new Error(`expected one file in ${dir}, found ${files.length}`);
  return readFile(path.join(dir, files[0]));
}

const peer = org.peers[0];
const client = new grpc.Client(peer.address,
  grpc.credentials.createSsl(await readFile(peer.tls_root_cert)),
  { 'grpc.ssl_target_name_override': peer.name });
const gateway = connect({
  client,
  identity: { mspId: org.msp_id, credentials: await only(path.join(msp, 'signcerts')) },
  signer: signers.newPrivateKeySigner(createPrivateKey(await only(path.join(msp, 'keystore')))),
});
try {
  const contract = gateway.getNetwork(profile.channel).getContract(profile.chaincode);
  const result = await contract.evaluateTransaction(fn, ...args);
  process.stdout.write(Buffer.from(result).toString('utf8'));
} catch (err) {
  const details = (err.details ?? []).map((d) => ` [${d.mspId} ${d.address}: ${d.message}]`);
  console.error(`${err.message}${details.join('')}`);
  process.exitCode = 1;
} finally {
  gateway.close();
  client.close();
}
