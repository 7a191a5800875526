-- Finish a rebuild: name its generation the one in use, only while this rebuild still
-- holds the lock and its generation is still the one being built (a read model condemned
-- meanwhile has none), and stop announcing it as being built.
-- KEYS[1] generation, KEYS[2] rebuild lock, KEYS[3] building; ARGV[1] lock token,
-- ARGV[2] generation.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
