using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Cellar.Core.Configuration;

/// <summary>
/// Rejects keys no setting reads, so a typo such as <c>kepDays</c> is an error instead of a silently
/// ignored policy, and numbers that do not parse, which the binder would drop silently. Walks the
/// configuration tree alongside the settings types.
/// </summary>
internal static class UnknownKeys
{
    // The walk reaches the nested settings types through their properties, which the trimmer cannot follow; the
    // settings types are few and named here so their properties survive a trimmed (native AOT) build.
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(CellarSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(DatabaseSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(JobSettings))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicProperties, typeof(OffsiteSettings))]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Every settings type is kept by the DynamicDependency attributes above.")]
    public static void Check(IConfiguration section, Type type, ConfigSources sources)
    {
        foreach (var child in section.GetChildren())
        {
            CheckValue(child, PropertyType(type, child, sources), sources);
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type, ConfigSources sources)
    {
        if (type == typeof(string))
        {
            return;
        }

        if (type.IsValueType)
        {
            // The binder drops a whole dictionary or list entry whose value does not convert ("keepDays": "sixty"
            // made the job vanish without a word), or fails without naming the key, so values are checked here.
            var valid = type == typeof(int) ? int.TryParse(section.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                : type == typeof(long) ? long.TryParse(section.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
                : type != typeof(bool) || bool.TryParse(section.Value, out _);
            if (section.Value is null ? section.GetChildren().Any() : !valid)
            {
                throw sources.Error(section.Path, $"'{section.Value ?? "{...}"}' is not {(type == typeof(bool) ? "true or false" : "a whole number")}");
            }

            return;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            foreach (var entry in section.GetChildren())
            {
                CheckValue(entry, type.GetGenericArguments()[1], sources);
            }

            return;
        }

        if (typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType)
        {
            foreach (var item in section.GetChildren())
            {
                CheckValue(item, type.GetGenericArguments()[0], sources);
            }

            return;
        }

        Check(section, type, sources);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Every settings type is kept by the DynamicDependency attributes on Check.")]
    private static Type PropertyType(Type type, IConfigurationSection child, ConfigSources sources)
    {
        var property = type.GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property?.PropertyType is { } t
            ? Nullable.GetUnderlyingType(t) ?? t
            : throw sources.Unknown(child.Path);
    }
}
