import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../config.ts';

test("Google's base URLs default to Google's hosts and always end in / so that v1/... keeps a proxy's path prefix", () => {
  assert.deepEqual(loadConfig({}).android, {
    amapiUrl: 'https://androidmanagement.googleapis.com/',
    pubsubUrl: 'https://pubsub.googleapis.com/',
    pubsubTopic: null,
    pubsubSubscription: null,
    syncInterval: 3_600_000,
    pullInterval: 10_000,
  });
  const proxied = loadConfig(
    {
      MDM_AMAPI_URL: 'https://emm.example.net/amapi',
      MDM_ANDROID_PUBSUB_TOPIC: 'projects/my-project/topics/android',
      MDM_ANDROID_PUBSUB_SUBSCRIPTION: 'projects/my-project/subscriptions/mdm',
      MDM_ANDROID_SYNC_INTERVAL: '15m',
    },
    { 'pubsub-url': 'http://127.0.0.1:8085', 'android-pull-interval': '2s' },
  );
  assert.deepEqual(proxied.android, {
    amapiUrl: 'https://emm.example.net/amapi/',
    pubsubUrl: 'http://127.0.0.1:8085/',
    pubsubTopic: 'projects/my-project/topics/android',
    pubsubSubscription: 'projects/my-project/subscriptions/mdm',
    syncInterval: 900_000,
    pullInterval: 2_000,
  });
  assert.throws(() => loadConfig({ MDM_ANDROID_PUBSUB_SUBSCRIPTION: 'projects/my-project/topics/android' }), /MDM_ANDROID_PUBSUB_SUBSCRIPTION/);
  assert.equal(new URL('v1/signupUrls', proxied.android.amapiUrl).href, 'https://emm.example.net/amapi/v1/signupUrls');
});
