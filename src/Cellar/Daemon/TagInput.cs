using System.Buffers;
using System.Text.Json;
using Cellar.Core.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.OpenApi;

namespace Cellar.Daemon;

/// <summary>
/// A tag as a caller gives it to a trigger: a gallery name in the body of <c>backup-on-gallery-add</c>, or
/// <c>?tag=</c>. Beyond <see cref="Slug"/>'s rules, a path separator or shell syntax is refused: in a name it is
/// either a mistake or an attack, and either way it must never look accepted.
/// </summary>
internal static class TagInput
{
    private const string GalleryNameProperty = "galleryName";

    private static readonly SearchValues<char> Refused = SearchValues.Create("/\\$`;|<>\"\0");

    /// <summary>
    /// The body <see cref="GalleryNameAsync"/> reads, as the OpenAPI document shows it. The route reads the body itself
    /// (so that text that is not valid gets an answer of its own), and ASP.NET, which never sees it bound, cannot.
    /// </summary>
    public static OpenApiRequestBody GalleryBody => new()
    {
        Required = true,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/json"] = new()
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { GalleryNameProperty },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        [GalleryNameProperty] = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = Slug.MaxTagLength },
                    },
                },
            },
        },
    };

    /// <summary>Why <paramref name="tag"/> is refused, or null when it is fine.</summary>
    public static string? Problem(string tag) =>
        Slug.Problem(tag) ?? (tag.AsSpan().IndexOfAny(Refused) >= 0 || tag.Contains("..", StringComparison.Ordinal)
            ? "the name contains a character that is not allowed in a name: / \\ $ ` ; | < > \" or .."
            : null);

    /// <summary>The gallery name of a <c>{"galleryName": "..."}</c> body, or why there is none that can be used.</summary>
    public static async Task<(string? Value, string? Problem)> GalleryNameAsync(HttpRequest request)
    {
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (body.RootElement.ValueKind != JsonValueKind.Object
                || !body.RootElement.TryGetProperty(GalleryNameProperty, out var value) || value.ValueKind != JsonValueKind.String)
            {
                return (null, "the body must be {\"galleryName\": \"...\"}");
            }

            string name;
            try
            {
                name = value.GetString()!;
            }
            catch (InvalidOperationException)
            {
                // GetString refuses an escaped lone surrogate ("\ud800") and bytes that are not UTF-8: the caller's text.
                return (null, $"galleryName is {Slug.NotValidText}");
            }

            return (name, Problem(name));
        }
        catch (JsonException)
        {
            return (null, "the body must be JSON: {\"galleryName\": \"...\"}");
        }
    }
}
