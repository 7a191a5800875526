-- Users' (or e-mails') day counters: store recounted values, then answer window sums.
-- KEYS: counters hashes, all of one hash-tag group (``Keys.user``). Fields of each:
--   DAY (day number) -> "STAMP C1 C2 ...": the stamp of the recount that wrote the day,
--     then its counts in the caller's metric order;
--   "e:SESSION:DAY" -> "STAMP N": JS errors of one of the user's sessions that day (a
--     user's errors per day are the sum over its sessions: metric position 0);
--   "trim" -> the day old fields were last dropped (every hash this script wrote holds
--     it); "q" / "qs" -> the SHA-1 of the last writer's queries (ARGV[5]) and their
--     sums, kept up to date by every write. The tabs read these three fields with HMGET
--     (insights.readmodel.redisdb.kept_sums) and call this script only for the others.
-- ARGV: today, oldest day kept, ttl seconds, stamp (µs, taken before the recount read),
--       JSON [[metric position, first day, last day], ...] of the sums to answer; then
--       per key, in KEYS order, JSON {day: [C1, C2, ...]} and JSON {"SESSION:DAY": N} to
--       store ("{}" for nothing). Returns, per key, its sums. Readers send zeros as
--       ARGV[1..4] and nothing to store.
-- Values are recounted from PostgreSQL, never increments: a replay rewrites the same
-- numbers. A field is replaced only by a recount read later than the one stored, so a
-- slower concurrent writer cannot put an older count back. The writers ask the same
-- queries all day: their sums are moved by each field's change instead of re-added over
-- every field (a new day changes the queries, and the next write adds them up again).
local asked, stamp = ARGV[5], tonumber(ARGV[4])
local digest = redis.sha1hex(asked)
local writer = ARGV[1] ~= '0'      -- readers send zeros for today, oldest, ttl, stamp
local queries = nil      -- decoded once, when a key needs them

local function parse(value)
  local numbers = {}
  for token in string.gmatch(value, '%S+') do numbers[#numbers + 1] = tonumber(token) end
  return numbers
end

local function add_to(sums, day, values, position_of)
  for q, query in ipairs(queries) do
    if day >= query[2] and day <= query[3] then
      sums[q] = sums[q] + (values[position_of(query[1])] or 0)
    end
  end
end

-- The metric position of a user's JS errors (kept per session), generated from
-- insights.readmodel.userstate.SESSION_ERRORS_POSITION; the others count from 1.
local SESSION_ERRORS = @SESSION_ERRORS@
local function packed(m) return m ~= SESSION_ERRORS and m + 1 or 0 end   -- after the stamp
local function errors(m) return m == SESSION_ERRORS and 2 or 0 end       -- "STAMP N"

local function add_up(key)
  local sums, all = {}, redis.call('HGETALL', key)
  for q = 1, #queries do sums[q] = 0 end
  for k = 1, #all, 2 do
    local day = tonumber(all[k])
    if day then
      add_to(sums, day, parse(all[k + 1]), packed)
    else
      day = tonumber(string.match(all[k], '^e:.*:(%d+)$'))
      if day then add_to(sums, day, parse(all[k + 1]), errors) end
    end
  end
  return sums
end

-- Replace a field when this recount is newer; move the sums by the change.
local function store(key, sums, field, day, values, position_of)
  local old = redis.call('HGET', key, field)
  local before = old and parse(old) or {-1}
  if stamp < before[1] then return false end
  redis.call('HSET', key, field, ARGV[4] .. ' ' .. table.concat(values, ' '))
  if sums then
    local after = {stamp, unpack(values)}
    for q, query in ipairs(queries) do
      local at = position_of(query[1])
      if at > 0 and day >= query[2] and day <= query[3] then
        sums[q] = sums[q] + after[at] - (before[at] or 0)
      end
    end
  end
  return true
end

-- Drop fields older than the days kept (once a day); false when a sum may include one.
local function trim(key)
  if redis.call('HGET', key, 'trim') == ARGV[1] then return true end
  local oldest, untouched = tonumber(ARGV[2]), true
  for _, field in ipairs(redis.call('HKEYS', key)) do
    local day = tonumber(field) or tonumber(string.match(field, '^e:.*:(%d+)$'))
    if day and day < oldest then
      redis.call('HDEL', key, field)
      untouched = false
    end
  end
  redis.call('HSET', key, 'trim', ARGV[1])
  return untouched
end

local function one(key, days_json, errors_json)
  local cached = redis.call('HGET', key, 'q') == digest
  local sums = cached and parse(redis.call('HGET', key, 'qs')) or nil
  if sums and days_json == '{}' and errors_json == '{}' then
    return sums                                -- the common read: nothing to decode
  end
  if not sums and not writer and days_json == '{}' and errors_json == '{}' then
    queries = queries or cjson.decode(asked)
    return add_up(key)                         -- a reader's other queries: not kept
  end
  queries = queries or cjson.decode(asked)
  if sums and #sums ~= #queries then sums = nil end
  local wrote = false
  if days_json ~= '{}' then
    for field, counts in pairs(cjson.decode(days_json)) do
      wrote = store(key, sums, field, tonumber(field), counts, packed) or wrote
    end
  end
  if errors_json ~= '{}' then
    for name, count in pairs(cjson.decode(errors_json)) do
      local day = tonumber(string.match(name, ':(%d+)$'))
      wrote = store(key, sums, 'e:' .. name, day, {count}, errors) or wrote
    end
  end
  if wrote then
    redis.call('EXPIRE', key, tonumber(ARGV[3]))
    if not trim(key) then sums = nil end       -- a query may reach that far back
  end
  local fresh = not sums
  if fresh then sums = add_up(key) end
  -- A writer keeps its sums (readers, who ask other queries too, leave them be): after
  -- midnight the roll's re-scoring caches the new day's before any event comes. A key
  -- with nothing in it is not created for that.
  if (wrote or fresh and writer and redis.call('EXISTS', key) == 1) and #queries > 0 then
    if fresh then redis.call('HSET', key, 'q', digest) end
    redis.call('HSET', key, 'qs', table.concat(sums, ' '))
  end
  return sums
end

local replies = {}
for k, key in ipairs(KEYS) do
  replies[k] = one(key, ARGV[4 + 2 * k] or '{}', ARGV[5 + 2 * k] or '{}')
end
return replies
