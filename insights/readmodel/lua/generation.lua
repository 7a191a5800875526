-- Finish a rebuild: set the generation only while this rebuild still holds the lock.
-- KEYS[1] generation, KEYS[2] rebuild lock; ARGV[1] lock token, ARGV[2] generation.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1
