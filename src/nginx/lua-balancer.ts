// The Lua side of the balancer: the module nginx runs to pick a peer from the shared peer list, and where it lives under the prefix.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The shared dictionary every worker reads the peer list from (it outlives reloads and worker restarts). */
export const PEERS_DICT = 'reactor_peers';
/** The Lua module's name (`require` name) and file under `<prefix>/lua/`. */
export const LUA_MODULE = 'reactor_balancer';
/** The peer list as last pushed, under the prefix: the master loads it at every start and reload. */
export const PEERS_FILE = 'reactor-peers.txt';
/** Where the control server takes a new peer list (PUT with the control token, loopback only). */
export const CONTROL_PEERS_PATH = '/reactor/peers';

/** What the rendered configuration needs to load the Lua module. */
export interface LuaSetup {
  /** Absolute paths of the modules to load, in order (ndk, then lua). */
  modules: string[];
}

const MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules', '/usr/lib64/nginx/modules'];
const RESTY_CORE = ['/usr/share/lua/5.1/resty/core.lua', '/usr/local/share/lua/5.1/resty/core.lua', '/usr/local/openresty/lualib/resty/core.lua'];

/**
 * Finds the dynamic modules of Debian's libnginx-mod-http-lua (and the
 * lua-resty-core it needs); null when they are not installed, and the
 * balancer then falls back to `server` lines and a reload per change.
 */
export function findLuaSetup(dirs = MODULE_DIRS, restyCore = RESTY_CORE): LuaSetup | null {
  if (!restyCore.some((path) => existsSync(path))) return null;
  for (const dir of dirs) {
    const ndk = join(dir, 'ndk_http_module.so');
    const lua = join(dir, 'ngx_http_lua_module.so');
    if (existsSync(ndk) && existsSync(lua)) return { modules: [ndk, lua] };
  }
  return null;
}

/**
 * The module. The peer list is plain text (no JSON library needed), one
 * directive a line:
 *
 *     upstream http://shop.example:8080/api
 *     sticky
 *     fallback 127.0.0.1:9000
 *     peer 127.0.0.1:32768 2
 *
 * `receive()` (the control server) and `load_file()` (the master, at start
 * and reload) store it in the shared dict and bump its version; each worker
 * parses it again when the version moved, so every worker serves the same
 * peers within one request of a push. `balance()` picks a peer: smooth
 * weighted round robin as nginx's own (per worker), or a consistent hash
 * ring of the sticky key (160 points per unit of weight, as nginx's `hash
 * ... consistent`). A peer that failed is skipped for 5 s (max_fails=1
 * fail_timeout=5s); a retry goes to a peer this request has not tried.
 * With no peer, `fallback` (the activator) serves; `admit()` answers 301 to
 * the redirect or 502 before nginx proxies when there is neither.
 *
 * `receive()` answers 403, before reading any body, unless the request's
 * `X-Reactor-Token` equals the prefix's control token
 * (src/nginx/control-token.ts), which `load_token()` reads from its 0600
 * file at start and reload: without it, any local process (or a request
 * forged through some other service) could point every endpoint anywhere.
 * The rendered config names the file rather than carrying the token, so
 * nginx.conf holds no secret.
 */
export const LUA_SOURCE = String.raw`-- Reactor's Lua balancer: peers come from the shared dict "reactor_peers", pushed by Reactor without a reload.
local ngx_balancer = require("ngx.balancer")
local dict = ngx.shared.reactor_peers

local M = {}
local FAIL_TIMEOUT = 5
local POINTS_PER_WEIGHT = 160

local seen_version = nil
local upstreams = {}
local failed_at = {}

local function split_address(address)
  local host, port = string.match(address, "^%[(.+)%]:(%d+)$")
  if not host then host, port = string.match(address, "^(.+):(%d+)$") end
  return host, tonumber(port)
end

local function parse(text)
  local result = {}
  local current
  for line in string.gmatch(text, "[^\n]+") do
    local kind, rest = string.match(line, "^(%S+)%s*(.-)%s*$")
    if kind == "upstream" then
      current = { peers = {} }
      result[rest] = current
    elseif current and kind == "peer" then
      local address, weight = string.match(rest, "^(%S+)%s+(%d+)$")
      local host, port = split_address(address or "")
      if host then
        current.peers[#current.peers + 1] = { address = address, host = host, port = port, weight = tonumber(weight), current = 0 }
      end
    elseif current and kind == "sticky" then
      current.sticky = true
    elseif current and kind == "fallback" then
      local host, port = split_address(rest)
      if host then current.fallback = { address = rest, host = host, port = port } end
    end
  end
  return result
end

local function sync()
  local version = dict:get("version")
  if version == seen_version then return end
  local text = dict:get("peers")
  upstreams = text and parse(text) or {}
  seen_version = version
end

local function store(text)
  local ok, err = dict:set("peers", text)
  if not ok then return nil, err end
  return dict:incr("version", 1, 0)
end

local function usable(peer, tried, now)
  if tried[peer.address] then return false end
  local at = failed_at[peer.address]
  return not at or now - at >= FAIL_TIMEOUT
end

local function round_robin(u, tried, now)
  local best, total = nil, 0
  for _, peer in ipairs(u.peers) do
    if usable(peer, tried, now) then
      peer.current = peer.current + peer.weight
      total = total + peer.weight
      if not best or peer.current > best.current then best = peer end
    end
  end
  if best then best.current = best.current - total end
  return best
end

local function ring_of(u)
  if u.ring then return u.ring end
  local ring = {}
  for _, peer in ipairs(u.peers) do
    for i = 1, POINTS_PER_WEIGHT * peer.weight do
      ring[#ring + 1] = { hash = ngx.crc32_long(peer.address .. "-" .. i), peer = peer }
    end
  end
  table.sort(ring, function(a, b) return a.hash < b.hash end)
  u.ring = ring
  return ring
end

local function by_hash(u, key, tried, now)
  local ring = ring_of(u)
  local hash = ngx.crc32_long(key or "")
  local low, high = 1, #ring
  while low < high do
    local middle = math.floor((low + high) / 2)
    if ring[middle].hash < hash then low = middle + 1 else high = middle end
  end
  if ring[low].hash < hash then low = 1 end
  for step = 0, #ring - 1 do
    local peer = ring[(low + step - 1) % #ring + 1].peer
    if usable(peer, tried, now) then return peer end
  end
  return nil
end

-- balancer_by_lua: the peer for this attempt of this request.
function M.balance(key)
  sync()
  local ctx = ngx.ctx
  local tried = ctx.reactor_tried
  local now = ngx.now()
  if tried then
    local state = ngx_balancer.get_last_failure()
    if state == "failed" and ctx.reactor_last then failed_at[ctx.reactor_last] = now end
  else
    tried = {}
    ctx.reactor_tried = tried
  end
  local u = upstreams[key]
  local peer
  if u and #u.peers > 0 then
    local pick = u.sticky and function(skip, at) return by_hash(u, ngx.var.reactor_sticky_key, skip, at) end
      or function(skip, at) return round_robin(u, skip, at) end
    -- Untried and not failed; then untried; then any (every peer failed: nginx, too, tries them all again).
    peer = pick(tried, now) or pick(tried, math.huge) or pick({}, math.huge)
    if not ctx.reactor_more then
      ctx.reactor_more = true
      if #u.peers > 1 then ngx_balancer.set_more_tries(#u.peers - 1) end
    end
  elseif u and u.fallback then
    peer = u.fallback
  end
  if not peer then return ngx.exit(502) end
  tried[peer.address] = true
  ctx.reactor_last = peer.address
  local ok, err = ngx_balancer.set_current_peer(peer.host, peer.port)
  if not ok then
    ngx.log(ngx.ERR, "reactor: cannot use peer ", peer.address, ": ", err)
    return ngx.exit(502)
  end
end

-- access_by_lua: with nobody to serve, 301 to the redirect or 502 with a message, before nginx proxies.
function M.admit(key, redirect, message)
  sync()
  local u = upstreams[key]
  if u and (#u.peers > 0 or u.fallback) then return end
  if redirect ~= "" then return ngx.redirect(redirect, 301) end
  ngx.status = 502
  ngx.header["Content-Type"] = "text/plain"
  ngx.print(message, "\n")
  return ngx.exit(ngx.HTTP_OK)
end

-- The control token (init_by_lua: the master reads it before workers drop privileges; they inherit it).
local token = nil

function M.load_token(path)
  local handle = io.open(path, "rb")
  if not handle then
    ngx.log(ngx.ERR, "reactor: no control token at ", path, ": every peer list push is refused")
    return
  end
  token = string.match(handle:read("*a") or "", "^%s*(%S+)%s*$")
  handle:close()
end

-- Whether the request carries the token; compares every byte whatever differs first (constant time for a given length).
local function authorized()
  local given = ngx.var.http_x_reactor_token
  if not token or type(given) ~= "string" or #given ~= #token then return false end
  local diff = 0
  for i = 1, #token do
    diff = bit.bor(diff, bit.bxor(string.byte(token, i), string.byte(given, i)))
  end
  return diff == 0
end

-- content_by_lua on the control server: PUT a new peer list with the token; answers the dict's new version.
-- The token is checked before the body is read, so nobody without it makes nginx buffer anything.
function M.receive()
  if not authorized() then
    ngx.status = 403
    ngx.say("the control token is missing or wrong")
    return ngx.exit(ngx.HTTP_OK)
  end
  if ngx.req.get_method() ~= "PUT" then
    ngx.status = 405
    ngx.say("PUT a peer list")
    return ngx.exit(ngx.HTTP_OK)
  end
  ngx.req.read_body()
  local text = ngx.req.get_body_data()
  if not text then
    local file = ngx.req.get_body_file()
    if file then
      local handle = io.open(file, "rb")
      if handle then text = handle:read("*a"); handle:close() end
    end
  end
  local version, err = store(text or "")
  if not version then
    ngx.status = 507
    ngx.say("peer list not stored: ", err)
    return ngx.exit(ngx.HTTP_OK)
  end
  ngx.say(version)
end

-- init_by_lua (the master, at start and at every reload): the last pushed list, so a fresh start serves it at once.
function M.load_file(path)
  local handle = io.open(path, "rb")
  if not handle then return end
  local text = handle:read("*a")
  handle:close()
  local ok, err = store(text)
  if not ok then ngx.log(ngx.ERR, "reactor: peer list not loaded from ", path, ": ", err) end
end

-- What a worker serves now, for the control server's /reactor/peers GET (tests and diagnostics).
function M.version()
  return dict:get("version")
end

return M
`;
