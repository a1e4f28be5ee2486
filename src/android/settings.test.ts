import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../config.ts';

test("Google's base URLs default to Google's hosts and always end in / so that v1/... keeps a proxy's path prefix", () => {
  assert.deepEqual(loadConfig({}).android, {
    amapiUrl: 'https://androidmanagement.googleapis.com/',
    pubsubUrl: 'https://pubsub.googleapis.com/',
    pubsubTopic: null,
  });
  const proxied = loadConfig({ MDM_AMAPI_URL: 'https://emm.example.net/amapi', MDM_ANDROID_PUBSUB_TOPIC: 'projects/my-project/topics/android' }, { 'pubsub-url': 'http://127.0.0.1:8085' });
  assert.deepEqual(proxied.android, {
    amapiUrl: 'https://emm.example.net/amapi/',
    pubsubUrl: 'http://127.0.0.1:8085/',
    pubsubTopic: 'projects/my-project/topics/android',
  });
  assert.equal(new URL('v1/signupUrls', proxied.android.amapiUrl).href, 'https://emm.example.net/amapi/v1/signupUrls');
});
