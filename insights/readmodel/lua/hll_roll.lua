-- Merge window HyperLogLogs again for a new day: each is the union of its day HLLs in
-- the window (a union cannot subtract the day that left, so it is built anew).
-- KEYS: for each name, its window HLLs (one per period, in PERIODS order), then the day
--   HLLs of the longest window (oldest first, tomorrow last); then the names set (last key).
-- ARGV[1]: ttl seconds; ARGV[2]: JSON [[name, how many day HLLs, how many of the newest
--   of them each window holds (in PERIODS order)], ...].
-- A name whose windows are all empty has no day HLL left: it leaves the names set.
local PERIODS = @PERIODS@          -- generated: len(scoring.windows.PERIODS)
local names_key = KEYS[#KEYS]
local k = 1
for _, entry in ipairs(cjson.decode(ARGV[2])) do
  local windows, days, empty = {}, {}, true
  for p = 1, PERIODS do windows[p] = KEYS[k + p - 1] end
  for d = 1, entry[2] do days[d] = KEYS[k + PERIODS - 1 + d] end
  for p = 1, PERIODS do
    redis.call('DEL', windows[p])
    redis.call('PFMERGE', windows[p], unpack(days, #days - entry[p + 2] + 1, #days))
    redis.call('EXPIRE', windows[p], tonumber(ARGV[1]))
    empty = empty and redis.call('PFCOUNT', windows[p]) == 0
  end
  if empty then
    redis.call('DEL', unpack(windows))
    redis.call('SREM', names_key, entry[1])
  end
  k = k + PERIODS + entry[2]
end
return 1
