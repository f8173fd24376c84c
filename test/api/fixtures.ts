// Endpoint configurations shared by the API and CLI tests.

/** The seed walkthrough's docker.conf, with a local test image. */
export const SEED_CONFIG = `[endpoint]
url=http://
cloud=docker
loadbalancer=nginx
port=5000

[scaling]
min_instances=1
max_instances=5

[cloud:docker]
image=reactor-test/httpd:1
command=/usr/local/bin/runapp
`;
