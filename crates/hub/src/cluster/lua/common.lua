-- Shared by every presence script (prepended to each). ARGV[1] is the key prefix.
--
-- A user's hash `PREFIX:p:USER` holds `h:HUB` (ready connections on that hub), `chosen` (the
-- status last chosen), `shown` (what contacts were last told), `version` (bumped with every
-- change of `shown`), `last_seen` and `left_at` (when the last connection closed). Every change
-- of `shown` happens in a script, so exactly one hub sees it happen and announces it.
local prefix = ARGV[1]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function presence_key(user) return prefix .. ':p:' .. user end
local function hub_users_key(hub) return prefix .. ':hub:' .. hub .. ':users' end
local hubs_key = prefix .. ':hubs'
local settling_key = prefix .. ':settling'

-- Ready connections of the user on every hub.
local function connections(key)
  local fields = redis.call('HGETALL', key)
  local n = 0
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'h:' then n = n + tonumber(fields[i + 1]) end
  end
  return n
end

local shown_when_connected = { online = 'online', away = 'away', busy = 'busy', invisible = 'offline' }

-- Recomputes what the user is shown as. When that changed, stores it with the next version
-- and returns {user, status, last_seen or '', version} for the caller to announce; returns
-- false when nothing is to be announced. `left_at` is when they left, if they did.
local function transition(user, left_at)
  local key = presence_key(user)
  local status = 'offline'
  if connections(key) > 0 then
    status = shown_when_connected[redis.call('HGET', key, 'chosen') or 'online'] or 'online'
  end
  local old = redis.call('HGET', key, 'shown')
  if old == status then return false end
  if status == 'offline' and old and old ~= 'offline' then
    -- Only someone who was visible reveals when they left (or went invisible: now).
    redis.call('HSET', key, 'last_seen', left_at or now_ms())
  end
  redis.call('HSET', key, 'shown', status)
  local version = redis.call('HINCRBY', key, 'version', 1)
  if not old and status == 'offline' then return false end -- never shown online: nobody was told
  return {user, status, redis.call('HGET', key, 'last_seen') or '', version}
end

-- A user with no connection left starts the grace period.
local function start_grace(user, grace_ms)
  local now = now_ms()
  redis.call('HSET', presence_key(user), 'left_at', now)
  redis.call('ZADD', settling_key, now + grace_ms, user)
end
